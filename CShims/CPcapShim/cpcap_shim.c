#include "cpcap_shim.h"
