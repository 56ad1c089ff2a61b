/* swopts.h - turn command options into swarm settings. */
#ifndef SW_SWOPTS_H
#define SW_SWOPTS_H

#include <stddef.h>

#include "opts.h"
#include "swarm.h"
#include "sw_err.h"

/* --listen PORT means every interface (IPv4 and IPv6) on PORT; ADDR:PORT
 * lists (comma separated, numeric addresses, IPv6 in brackets) are passed on.
 * The strings live in a static buffer: call once per process. */
sw_err sw_swarm_opts_to_settings(const sw_opts *o, sw_swarm_settings *s, char *msg, size_t msglen);

#endif
