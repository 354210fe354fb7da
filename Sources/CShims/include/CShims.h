#ifndef JOBGATE_CSHIMS_H
#define JOBGATE_CSHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

/* Receives one formatted libmicrohttpd diagnostic line (no trailing newline). */
typedef void (*jobgate_log_sink)(void *cls, const char *message);

/* Everything the HTTP server sets when it starts libmicrohttpd. Swift cannot
   call the variadic MHD_start_daemon, so it fills this struct and the shim
   turns it into an MHD_OptionItem array passed with MHD_OPTION_ARRAY. */
struct jobgate_mhd_config {
    const char *host;                 /* numeric IPv4 or IPv6 address */
    uint16_t port;                    /* 0 picks an ephemeral port */
    unsigned int thread_pool_size;
    unsigned int connection_limit;
    unsigned int per_ip_connection_limit; /* 0 = no per-IP limit */
    unsigned int connection_timeout_seconds;
    size_t connection_memory_limit;
    unsigned int strict_for_client;   /* MHD_OPTION_STRICT_FOR_CLIENT value */
    jobgate_log_sink log_sink;        /* NULL: libmicrohttpd logs nothing */
};

typedef void *(*jobgate_uri_log_callback)(void *cls, const char *uri,
                                          struct MHD_Connection *connection);

/* Starts a daemon with an internal epoll thread (pool), suspend/resume and
   the limits of `config`. `cls` goes to every callback, the log sink included;
   `connection_notifier` (may be NULL) hears of every connection opened and
   closed. Returns NULL and writes a reason into `error`
   (NUL-terminated, at most error_size bytes) on failure. */
struct MHD_Daemon *jobgate_mhd_start(const struct jobgate_mhd_config *config,
                                     MHD_AccessHandlerCallback access_handler,
                                     jobgate_uri_log_callback uri_logger,
                                     MHD_RequestCompletedCallback completed,
                                     MHD_NotifyConnectionCallback connection_notifier,
                                     void *cls,
                                     char *error, size_t error_size);

/* The port the daemon is bound to (useful after binding port 0), 0 if unknown. */
uint16_t jobgate_mhd_bound_port(struct MHD_Daemon *daemon);

/* Writes the numeric client address of `connection` into `buffer`;
   returns 0 on success, -1 if unknown. */
int jobgate_mhd_client_address(struct MHD_Connection *connection,
                               char *buffer, size_t buffer_size);

/* The socket of `connection`, -1 if unknown. */
int jobgate_mhd_connection_fd(struct MHD_Connection *connection);

/* The size of the request head (request line, header fields and the empty
   line) libmicrohttpd read for the current request, 0 before it is complete. */
size_t jobgate_mhd_request_head_size(struct MHD_Connection *connection);

/* Bytes the kernel has received on TCP socket `fd` since it was opened
   (Linux TCP_INFO tcpi_bytes_received), -1 where that is not available. */
int64_t jobgate_socket_bytes_received(int fd);

#endif
