#include <libpq-fe.h>
/* PG_DIAG_* are character macros Swift cannot import. */
static const int CLIBPQ_DIAG_SQLSTATE = 'C';
static const int CLIBPQ_DIAG_MESSAGE_PRIMARY = 'M';
static const int CLIBPQ_DIAG_MESSAGE_DETAIL = 'D';
static const int CLIBPQ_DIAG_MESSAGE_HINT = 'H';
static const int CLIBPQ_DIAG_SEVERITY = 'V';
static const int CLIBPQ_DIAG_CONSTRAINT_NAME = 'n';
