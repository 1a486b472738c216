#include "CControlChannel.h"
