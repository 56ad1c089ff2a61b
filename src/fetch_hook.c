/* swarmup fetch: the --exec hook, run on the installed file. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "fetch_int.h"
#include "out.h"

static void exec_closed(uv_handle_t *h) {
  fetch *f = h->data;
  sw__fetch_start_seeding(f);
}

static void exec_exit(uv_process_t *p, int64_t status, int signo) {
  fetch *f = p->data;
  f->hook.exec_running = 0;
  f->hook.exec_status = signo ? 128 + signo : (int)status;
  if (signo) snprintf(f->hook.exec_msg, sizeof f->hook.exec_msg, "--exec command killed by signal %d", signo);
  else if (status)
    snprintf(f->hook.exec_msg, sizeof f->hook.exec_msg, "--exec command exited with status %d", (int)status);
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "exec");
    sw_json_str(&j, "command", f->o.exec);
    sw_json_i64(&j, "status", f->hook.exec_status);
    sw_json_end(&j);
  } else {
    fprintf(stderr, "exec: `%s %s` exited with status %d\n", f->o.exec, f->out_path, f->hook.exec_status);
  }
  uv_close((uv_handle_t *)p, exec_closed);
}

void sw__fetch_run_exec(fetch *f) {
  uv_process_options_t po;
  uv_stdio_container_t io[4];
  char script[4200];
  char *args[6];
  char **env = NULL;
  int rc;
  if (f->o.exec == NULL) {
    sw__fetch_start_seeding(f);
    return;
  }
  /* The path is passed as "$1", never pasted into the command text. */
  snprintf(script, sizeof script, "%s \"$1\"", f->o.exec);
  args[0] = (char *)"/bin/sh";
  args[1] = (char *)"-c";
  args[2] = script;
  args[3] = (char *)"swarmup-exec";
  args[4] = f->out_path;
  args[5] = NULL;
  memset(&po, 0, sizeof po);
  io[0].flags = UV_IGNORE;
  io[1].flags = UV_INHERIT_FD;
  io[1].data.fd = f->o.json ? 2 : 1; /* keep stdout for our JSON events */
  io[2].flags = UV_INHERIT_FD;
  io[2].data.fd = 2;
  /* The verified inode itself as fd 3 (read-only), with its SHA-256: a hook
   * that uses them runs what the gate accepted, whatever happens to the path. */
  io[3].flags = UV_INHERIT_FD;
  io[3].data.fd = f->inst.ro_fd;
  env = sw_install_hook_env(&f->inst, f->out_path, 3);
  po.file = "/bin/sh";
  po.args = args;
  po.env = env;
  po.exit_cb = exec_exit;
  po.stdio = io;
  po.stdio_count = 4;
  f->hook.proc.data = f;
  if (env == NULL || f->inst.ro_fd < 0) {
    sw_install_free_env(env);
    f->hook.exec_status = 127;
    snprintf(f->hook.exec_msg, sizeof f->hook.exec_msg, "--exec could not start: out of memory");
    sw__fetch_event(f, "exec", "%s", f->hook.exec_msg);
    sw__fetch_start_seeding(f);
    return;
  }
  rc = uv_spawn(&f->loop, &f->hook.proc, &po);
  sw_install_free_env(env); /* uv_spawn has exec'd (or failed) by now */
  if (rc != 0) {
    f->hook.exec_status = 127;
    snprintf(f->hook.exec_msg, sizeof f->hook.exec_msg, "--exec could not start: %s", uv_strerror(rc));
    sw__fetch_event(f, "exec", "%s", f->hook.exec_msg);
    uv_close((uv_handle_t *)&f->hook.proc, exec_closed);
    return;
  }
  f->hook.exec_running = 1;
}

/* ---- gate and install ---------------------------------------------------------- */
