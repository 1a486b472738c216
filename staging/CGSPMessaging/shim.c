#include "CGSPMessaging.h"
