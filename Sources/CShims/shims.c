#include "CShims.h"
int cshims_version(void) { return 1; }
