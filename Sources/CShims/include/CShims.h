#ifndef JOBGATE_CSHIMS_H
#define JOBGATE_CSHIMS_H
/* Placeholder; the HTTP module adds its libmicrohttpd start shim here. */
int cshims_version(void);
#endif
