#include "CShims.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/tcp.h>
#endif

static void set_error(char *error, size_t error_size, const char *message) {
    if (error != NULL && error_size > 0) {
        snprintf(error, error_size, "%s", message);
    }
}

/* libmicrohttpd hands its logger a format and a va_list, which Swift cannot
   take; format here and pass the sink a plain string. Every daemon uses the
   same sink function, so one process-wide pointer is enough. */
static jobgate_log_sink log_sink_function;

static void format_log(void *cls, const char *format, va_list arguments) {
    char line[512];
    vsnprintf(line, sizeof line, format, arguments);
    size_t length = strlen(line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
        line[--length] = '\0';
    }
    jobgate_log_sink sink = __atomic_load_n(&log_sink_function, __ATOMIC_ACQUIRE);
    if (sink != NULL) sink(cls, line);
}

struct MHD_Daemon *jobgate_mhd_start(const struct jobgate_mhd_config *config,
                                     MHD_AccessHandlerCallback access_handler,
                                     jobgate_uri_log_callback uri_logger,
                                     MHD_RequestCompletedCallback completed,
                                     MHD_NotifyConnectionCallback connection_notifier,
                                     void *cls,
                                     char *error, size_t error_size) {
    /* The address must outlive MHD_start_daemon only (MHD binds during it). */
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    struct sockaddr *address;
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    if (config->log_sink != NULL) {
        __atomic_store_n(&log_sink_function, config->log_sink, __ATOMIC_RELEASE);
        flags |= MHD_USE_ERROR_LOG;
    }

    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET, config->host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(config->port);
        address = (struct sockaddr *)&v4;
    } else if (inet_pton(AF_INET6, config->host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(config->port);
        address = (struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    } else {
        set_error(error, error_size, "host is not a numeric IPv4 or IPv6 address");
        return NULL;
    }

    struct MHD_OptionItem options[] = {
        { MHD_OPTION_SOCK_ADDR, 0, address },
        { MHD_OPTION_CONNECTION_LIMIT, (intptr_t)config->connection_limit, NULL },
        { MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)config->per_ip_connection_limit, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)config->connection_timeout_seconds, NULL },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)config->connection_memory_limit, NULL },
        { MHD_OPTION_STRICT_FOR_CLIENT, (intptr_t)config->strict_for_client, NULL },
        { MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_logger, cls },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, cls },
        { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)format_log, cls },
        /* NULL is allowed: libmicrohttpd only calls a notifier it has. */
        { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_notifier, cls },
        { MHD_OPTION_END, 0, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    /* A pool of one is just the internal thread; libmicrohttpd warns if told "1". */
    if (config->thread_pool_size > 1) {
        size_t last = sizeof options / sizeof options[0] - 2;
        options[last].option = MHD_OPTION_THREAD_POOL_SIZE;
        options[last].value = (intptr_t)config->thread_pool_size;
    }

    struct MHD_Daemon *daemon = MHD_start_daemon(flags, config->port,
                                                 NULL, NULL,
                                                 access_handler, cls,
                                                 MHD_OPTION_ARRAY, options,
                                                 MHD_OPTION_END);
    if (daemon == NULL) {
        set_error(error, error_size, "MHD_start_daemon failed (address in use, bad option or out of resources)");
    }
    return daemon;
}

uint16_t jobgate_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

int jobgate_mhd_client_address(struct MHD_Connection *connection,
                               char *buffer, size_t buffer_size) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) return -1;
    const struct sockaddr *address = info->client_addr;
    const void *raw;
    if (address->sa_family == AF_INET) {
        raw = &((const struct sockaddr_in *)address)->sin_addr;
    } else if (address->sa_family == AF_INET6) {
        raw = &((const struct sockaddr_in6 *)address)->sin6_addr;
    } else {
        return -1;
    }
    return inet_ntop(address->sa_family, raw, buffer, (socklen_t)buffer_size) == NULL ? -1 : 0;
}

int jobgate_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : (int)info->connect_fd;
}

size_t jobgate_mhd_request_head_size(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    return info == NULL ? 0 : info->header_size;
}

int64_t jobgate_socket_bytes_received(int fd) {
#if defined(__linux__) && defined(TCP_INFO)
    struct tcp_info info;
    socklen_t length = sizeof info;
    memset(&info, 0, sizeof info);
    /* Kernels before 4.1 return a shorter struct without the counter. */
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
        length < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) {
        return -1;
    }
    return (int64_t)info.tcpi_bytes_received;
#else
    (void)fd;
    return -1;
#endif
}
