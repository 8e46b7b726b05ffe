/*
 * main.c -- lighthoused: mount the Lighthouse filesystem and serve it.
 *
 * Start-up, in order: parse options (one table, which also writes
 * --help); resolve the project, state and policy; compile the policy; then
 * (unless -f) fork, and let the child do the rest while the parent waits
 * on a pipe for "ready" or an error message, so that every start-up error
 * reaches the terminal and the exit status. The child opens the store,
 * creates the FUSE session, starts streams/ (its thread and the store's
 * commit hook), reads the learned rules and the experts from the store
 * and makes the escalations left pending by a previous run pending
 * again, mounts, records daemon.start, starts the maintenance thread
 * (expiry every second, policy reload on SIGHUP) and the escalation
 * worker (deadlines, claims), and runs the multi-threaded session loop.
 *
 * Shutdown (SIGTERM, SIGINT, or `fusermount3 -u`): the loop returns; the
 * maintenance thread and the escalation worker stop; daemon.stop is
 * recorded; the store drains and closes (every queued event committed);
 * every read still parked -- escalations included, which stay pending in
 * the store for the next start -- is answered ENOTCONN; the session
 * unmounts and is destroyed. Exit status 0.
 *
 * Threads: FUSE workers (libfuse's, at most -o threads), the store writer,
 * the maintenance thread, the escalation worker. Lock order: see HACKING.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "fs/fs.h"
#include "store/store.h"
#include "validator/validator.h"
#include "common/banned.h"

struct options {
	char *project;
	char *state;
	char *policy;
	char *mountpoint;
	char *sync;
	int foreground;
	int debug;
	int help;
	int version;
	struct fs_config cfg;
};

#define OPT(t, f, v) { t, offsetof(struct options, f), v }
#define CFGOPT(t, f) { t, offsetof(struct options, cfg.f), 0 }

/* The options, their fuse_opt templates and their help, in one table. */
static const struct optrow {
	struct fuse_opt opt;
	const char *usage;		/* NULL: an alias of the row above */
	const char *help;
} optrows[] = {
	{ OPT("-h", help, 1), "-h, --help", "print this help and exit" },
	{ OPT("--help", help, 1), NULL, NULL },
	{ OPT("-V", version, 1), "-V, --version", "print the version and exit" },
	{ OPT("--version", version, 1), NULL, NULL },
	{ OPT("-f", foreground, 1), "-f", "stay in the foreground (log to stderr)" },
	{ OPT("-d", debug, 1), "-d", "debug: foreground, and log every FUSE operation" },
	{ OPT("--project=%s", project, 0), "--project DIR",
	  "the project behind current/ (default: the working directory)" },
	{ OPT("--project %s", project, 0), NULL, NULL },
	{ OPT("--state=%s", state, 0), "--state DIR",
	  "where the event store lives (default: $XDG_STATE_HOME/lighthouse or ~/.local/state/lighthouse)" },
	{ OPT("--state %s", state, 0), NULL, NULL },
	{ OPT("--policy=%s", policy, 0), "--policy FILE",
	  "the policy (lighthouse-policy(5); default: the built-in policy)" },
	{ OPT("--policy %s", policy, 0), NULL, NULL },
	{ CFGOPT("result_ttl=%u", result_ttl), "-o result_ttl=SECONDS",
	  "how long a judged request stays listed (default 600)" },
	{ CFGOPT("max_results=%u", max_results), "-o max_results=N",
	  "names listed under requests/ and results/ at most (default 100000)" },
	{ CFGOPT("max_request=%u", max_request), "-o max_request=BYTES",
	  "size limit of one request (default 1048576)" },
	{ CFGOPT("cache_entries=%u", cache_entries), "-o cache_entries=N",
	  "verdicts the cache holds (default 1048576)" },
	{ CFGOPT("threads=%u", threads), "-o threads=N", "FUSE worker threads at most (default 16)" },
	{ CFGOPT("batch_usec=%u", batch_usec), "-o batch_usec=USEC",
	  "wait this long to fill a group commit (default 0: never wait)" },
	{ OPT("sync=%s", sync, 0), "-o sync=normal|full",
	  "full: fsync every commit, surviving power loss (default normal: survives kill -9)" },
	{ CFGOPT("attr_timeout=%lf", attr_timeout), "-o attr_timeout=SECONDS",
	  "how long the kernel caches the attributes of a judged result (default 3600)" },
	{ CFGOPT("rate_agent=%u", rate_agent), "-o rate_agent=N",
	  "requests a second one agent may make (default 500; 0: no limit)" },
	{ CFGOPT("rate_agent_burst=%u", rate_agent_burst), "-o rate_agent_burst=N",
	  "requests one agent may make at once (default 1000)" },
	{ CFGOPT("rate_uid=%u", rate_uid), "-o rate_uid=N",
	  "requests a second all agents of one user may make (default 0: no limit)" },
	{ CFGOPT("rate_uid_burst=%u", rate_uid_burst), "-o rate_uid_burst=N",
	  "requests one user's agents may make at once (default: the rate)" },
	{ CFGOPT("sla_p99_us=%u", sla_p99_us), "-o sla_p99_us=USEC",
	  "record an SLA breach when the verdict p99 is above this (default 0: off)" },
	{ CFGOPT("sla_window=%u", sla_window), "-o sla_window=SECONDS",
	  "the window the SLA's p99 is measured over (default 10)" },
	{ CFGOPT("current_entry_timeout=%lf", cur_entry_timeout), "-o current_entry_timeout=SECONDS",
	  "how long the kernel caches names (and missing names) of current/ (default 60)" },
	{ CFGOPT("current_attr_timeout=%lf", cur_attr_timeout), "-o current_attr_timeout=SECONDS",
	  "how long the kernel caches attributes of current/ (default 60)" },
	{ CFGOPT("current_scan=%u", cur_scan), "-o current_scan=0|1",
	  "at start, record what changed in the project while no daemon ran (default 1)" },
	{ CFGOPT("current_fds=%u", cur_fds), "-o current_fds=N",
	  "descriptors current/ keeps open on files and folders at most; past it, file handles (default: half the open-file limit, folders up to three quarters)" },
	{ CFGOPT("escalation_timeout=%u", escalation_timeout), "-o escalation_timeout=SECONDS",
	  "how long an escalated request waits for an expert or a person, then deny (default 300; 0: escalate is answered as ask)" },
	{ CFGOPT("claim_timeout=%u", claim_timeout), "-o claim_timeout=SECONDS",
	  "how long an expert may hold an escalation undecided before it goes back to the queue (default 60)" },
};

#define NOPTROWS (sizeof(optrows) / sizeof(optrows[0]))

static void usage(FILE *out)
{
	size_t k;

	fprintf(out, "usage: lighthoused [-f] [-d] [--project DIR] [--state DIR] [--policy FILE] [-o OPTIONS] MOUNTPOINT\n\n"
		     "Mount the Lighthouse filesystem: agents write requests under requests/ and read\n"
		     "verdicts from results/; every request and verdict is recorded. See lighthoused(8).\n\n"
		     "options:\n");
	for (k = 0; k < NOPTROWS; k++)
		if (optrows[k].usage)
			fprintf(out, "  %-24s %s\n", optrows[k].usage, optrows[k].help);
	fprintf(out, "  %-24s %s\n", "-o FUSE-OPTION", "passed to FUSE (e.g. allow_other; see mount.fuse3(8))");
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;

	(void)outargs;
	if (key == FUSE_OPT_KEY_NONOPT) {
		if (o->mountpoint) {
			fprintf(stderr, "lighthoused: only one mount point, please ('%s' and '%s')\n",
				o->mountpoint, arg);
			return -1;
		}
		o->mountpoint = xstrdup(arg);
		return 0;
	}
	return 1;	/* FUSE's own option: keep it */
}

static char *default_state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct lh_buf b = LH_BUF_INIT;

	if (xdg && xdg[0] == '/')
		lh_buf_addf(&b, "%s/lighthouse", xdg);
	else if (home && home[0] == '/')
		lh_buf_addf(&b, "%s/.local/state/lighthouse", home);
	else
		return NULL;
	return lh_buf_detach(&b, NULL);
}

/* ---- the maintenance thread ------------------------------------------------- */

static int event_fd = -1;		/* SIGHUP and shutdown wake the thread here */
static volatile sig_atomic_t want_reload;
static volatile sig_atomic_t want_stop;

static void on_sighup(int sig)
{
	uint64_t one = 1;
	ssize_t n;

	(void)sig;
	want_reload = 1;
	n = write(event_fd, &one, sizeof(one));
	(void)n;
}

static void *maintenance(void *arg)
{
	struct lh_fs *fs = arg;

	while (!want_stop) {
		struct pollfd p = { event_fd, POLLIN, 0 };
		uint64_t v;

		if (poll(&p, 1, 1000) > 0 && read(event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			lh_warn("maintenance: %s", strerror(errno));
		if (want_stop)
			break;
		if (want_reload) {
			struct lh_buf msg = LH_BUF_INIT;

			want_reload = 0;
			fs_reload_policy(fs, &msg);
			lh_info("%s", msg.data);
			lh_buf_release(&msg);
		}
		reqtab_expire(fs);
		fs_stats_sla(fs);
	}
	return NULL;
}

/* ---- start-up ------------------------------------------------------------------ */

static int status_fd = -1;		/* the waiting parent, while starting */

static void report(const char *msg)
{
	if (status_fd >= 0) {
		ssize_t n = write(status_fd, msg, strlen(msg));

		(void)n;
	} else {
		fputs(msg, stderr);
	}
}

static void reportf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reportf(const char *fmt, ...)
{
	char msg[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(msg);
}

/* Fork; the parent waits for the child to say it is ready. */
static int background(void)
{
	int p[2];
	pid_t pid;

	if (pipe(p)) {
		perror("lighthoused: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("lighthoused: fork");
		return -1;
	}
	if (pid > 0) {
		char buf[8192];
		ssize_t n;
		size_t got = 0;

		close(p[1]);
		while ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
			got += (size_t)n;
		buf[got] = '\0';
		if (got >= 5 && !strncmp(buf, "ready", 5))
			_exit(0);
		fputs(got ? buf : "lighthoused: the daemon exited while starting\n", stderr);
		_exit(1);
	}
	close(p[0]);
	status_fd = p[1];
	if (setsid() < 0)
		return -1;
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int record_daemon_event(struct lh_fs *fs, const char *type)
{
	struct lh_buf p = LH_BUF_INIT;
	struct lh_event ev;
	char src[256];
	int rules, rc;

	lh_validator_policy_info(fs->validator, src, sizeof(src), &rules);
	lh_buf_addf(&p, "{\"version\":\"%s\",\"pid\":%d,\"mount\":", PACKAGE_VERSION, (int)fs->pid);
	lh_buf_add_json_str(&p, fs->mountpoint, strlen(fs->mountpoint));
	lh_buf_adds(&p, ",\"project\":");
	lh_buf_add_json_str(&p, fs->project, strlen(fs->project));
	lh_buf_adds(&p, ",\"policy\":");
	lh_buf_add_json_str(&p, src, strlen(src));
	lh_buf_addf(&p, ",\"rules\":%d}", rules);
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.uid = fs->owner;
	ev.gid = getgid();
	ev.pid = fs->pid;
	ev.payload = p.data;
	ev.payload_len = p.len;
	rc = lh_store_append(fs->store, &ev, 1, NULL);
	lh_buf_release(&p);
	return rc;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_opt table[NOPTROWS + 1];
	struct options o;
	struct lh_fs fs;
	struct lh_buf err = LH_BUF_INIT;
	struct lh_policy *pol = NULL;
	struct lh_store_opts so;
	struct lh_validator_opts vo;
	struct fuse_loop_config *loop = NULL;
	struct sigaction sa;
	pthread_t maint;
	char real[PATH_MAX];
	int rc, status = 1, have_maint = 0;
	size_t k;

	memset(&o, 0, sizeof(o));
	o.cfg.result_ttl = 600;
	o.cfg.max_results = 100000;
	o.cfg.max_request = LH_REQUEST_MAX_DEFAULT;
	o.cfg.cache_entries = 1u << 20;
	o.cfg.threads = 16;
	o.cfg.attr_timeout = 3600;
	o.cfg.rate_agent = 500;
	o.cfg.rate_agent_burst = 1000;
	o.cfg.sla_window = 10;
	o.cfg.cur_entry_timeout = 60;
	o.cfg.cur_attr_timeout = 60;
	o.cfg.cur_scan = 1;
	o.cfg.escalation_timeout = 300;
	o.cfg.claim_timeout = 60;
	for (k = 0; k < NOPTROWS; k++)
		table[k] = optrows[k].opt;
	memset(&table[NOPTROWS], 0, sizeof(table[0]));
	if (fuse_opt_parse(&args, &o, table, opt_proc)) {
		fprintf(stderr, "lighthoused: bad arguments (try --help)\n");
		return 2;
	}
	if (o.help || o.version) {
		if (o.help)
			usage(stdout);
		else
			printf("lighthoused %s (libfuse %s)\n", PACKAGE_VERSION, fuse_pkgversion());
		fuse_opt_free_args(&args);
		return 0;
	}
	if (!o.mountpoint) {
		usage(stderr);
		return 2;
	}
	if (o.sync && strcmp(o.sync, "normal") && strcmp(o.sync, "full")) {
		fprintf(stderr, "lighthoused: -o sync must be normal or full, not '%s'\n", o.sync);
		return 2;
	}
	if (fs_config_check(&o.cfg, &err) || o.cfg.attr_timeout < 0 || o.cfg.cur_entry_timeout < 0 ||
	    o.cfg.cur_attr_timeout < 0) {
		fprintf(stderr, "lighthoused: %s", err.len ? err.data : "timeouts must not be negative\n");
		return 2;
	}
	if (o.debug)
		o.foreground = 1;

	memset(&fs, 0, sizeof(fs));
	fs.cfg = o.cfg;
	fs.cfg.sync_full = o.sync && !strcmp(o.sync, "full");
	fs.owner = getuid();
	pthread_mutex_init(&fs.reload_mu, NULL);
	if (!realpath(o.mountpoint, real)) {
		fprintf(stderr, "lighthoused: mount point '%s': %s\n", o.mountpoint, strerror(errno));
		return 1;
	}
	fs.mountpoint = xstrdup(real);
	if (!realpath(o.project ? o.project : ".", real)) {
		fprintf(stderr, "lighthoused: project '%s': %s\n", o.project ? o.project : ".",
			strerror(errno));
		return 1;
	}
	fs.project = xstrdup(real);
	fs.state_dir = o.state ? xstrdup(o.state) : default_state_dir();
	if (!fs.state_dir) {
		fprintf(stderr, "lighthoused: no --state given and neither XDG_STATE_HOME nor HOME is set\n");
		return 1;
	}
	if (o.policy) {
		fs.policy_path = realpath(o.policy, real) ? xstrdup(real) : xstrdup(o.policy);
		rc = lh_policy_load(&pol, fs.policy_path, &err);
	} else {
		rc = lh_policy_builtin(&pol, &err);
	}
	if (rc) {
		fprintf(stderr, "lighthoused: the policy has errors:\n%s", err.data);
		return 1;
	}
	lh_buf_reset(&err);

	/* the session checks FUSE's own options: do it while we can say so */
	/*
	 * default_permissions: the kernel checks every access against the
	 * attributes we report, as it would on the real files behind current/
	 * (the virtual files' modes say what reqtab.c and ops.c enforce too).
	 */
	fuse_opt_add_arg(&args, "-ofsname=lighthouse,subtype=lighthouse,default_permissions");
	if (getuid() == 0)
		fuse_opt_add_arg(&args, "-oallow_other");
	if (o.debug)
		fuse_opt_add_arg(&args, "-d");
	fs.se = fuse_session_new(&args, &lh_fs_ops, sizeof(lh_fs_ops), &fs);
	if (!fs.se) {
		fprintf(stderr, "lighthoused: bad FUSE options (see --help)\n");
		lh_policy_free(pol);
		return 2;
	}

	lh_log_setup("lighthoused", o.debug ? LH_LOG_DEBUG : LH_LOG_INFO, 0);
	if (!o.foreground && background()) {
		lh_policy_free(pol);
		goto out_session;
	}
	fs.pid = getpid();
	fs.started_mono = lh_mono_ns();
	fs.started_wall = lh_wall_ns();

	memset(&so, 0, sizeof(so));
	so.dir = fs.state_dir;
	so.sync_full = fs.cfg.sync_full;
	so.batch_usec = (int)fs.cfg.batch_usec;
	so.journal = 1;		/* a verdict is released once it is in the journal */
	rc = lh_store_open(&fs.store, &so, &err);
	if (rc) {
		reportf("lighthoused: cannot open the event store: %s\n", err.data);
		lh_policy_free(pol);
		goto out_session;
	}
	{
		struct lh_store_stats ss;

		lh_store_get_stats(fs.store, &ss);
		if (ss.journal_replayed)
			lh_info("replayed %" PRIu64 " events from the journal into the event store",
				ss.journal_replayed);
	}
	memset(&vo, 0, sizeof(vo));
	vo.project = fs.project;
	vo.cache_entries = fs.cfg.cache_entries;
	vo.max_request = fs.cfg.max_request;
	rc = lh_validator_new(&fs.validator, pol, &vo);
	if (rc) {
		reportf("lighthoused: cannot start the validator: %s\n", strerror(-rc));
		goto out_store;
	}
	atomic_store(&fs.policy_gen, 1);
	fs.reqs = reqtab_new(&fs);
	fs.agents = agents_new();
	fs.holds = holds_new();
	if (holds_start(fs.holds))
		lh_warn("cannot start the hold thread: rate-limited answers will not be held");
	fs.streams = streams_new(&fs);
	if (!fs.streams) {
		reportf("lighthoused: cannot start streams/\n");
		goto out_validator;
	}
	rc = current_new(&fs, &err);
	if (!rc)
		rc = history_new(&fs, &err);
	if (!rc)
		rc = shadows_new(&fs, &err);
	if (!rc)
		rc = record_start(&fs, fs.cfg.cur_scan != 0, &err);
	if (rc) {
		reportf("lighthoused: %s\n", err.data);
		goto out_validator;
	}
	/*
	 * The kernel applies the caller's umask to the modes it sends us;
	 * what current/ creates gets exactly that mode. (The store's files
	 * are created with explicit modes.)
	 */
	umask(0);
	fs.learned = learned_new();
	fs.esc = esc_new(&fs);
	/* what earlier runs decided and left waiting: the store knows */
	rc = learned_load(&fs, &err);
	if (!rc && learned_count(&fs))
		rc = learned_publish(&fs, &err);
	if (!rc)
		rc = esc_recover(&fs, &err);
	if (rc) {
		reportf("lighthoused: cannot read the learned rules and escalations from the store: %s\n",
			err.data);
		goto out_validator;
	}

	if (fuse_set_signal_handlers(fs.se)) {
		reportf("lighthoused: cannot install signal handlers\n");
		goto out_validator;
	}
	event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sighup;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);	/* reload the policy instead of exiting */
	if (fuse_session_mount(fs.se, fs.mountpoint)) {
		reportf("lighthoused: cannot mount on '%s' (is it an empty directory you own, and is /dev/fuse usable?)\n",
			fs.mountpoint);
		goto out_signals;
	}
	record_daemon_event(&fs, "daemon.start");
	{
		char src[256];
		int rules;
		struct lh_buf p = LH_BUF_INIT;
		struct lh_event ev;

		lh_validator_policy_info(fs.validator, src, sizeof(src), &rules);
		lh_buf_adds(&p, "{\"source\":");
		lh_buf_add_json_str(&p, src, strlen(src));
		lh_buf_addf(&p, ",\"rules\":%d,\"generation\":1}", rules);
		memset(&ev, 0, sizeof(ev));
		ev.type = "policy.load";
		ev.uid = ev.gid = ev.pid = -1;
		ev.payload = p.data;
		ev.payload_len = p.len;
		lh_store_append(fs.store, &ev, 1, NULL);
		lh_buf_release(&p);
	}
	if (pthread_create(&maint, NULL, maintenance, &fs) == 0) {
		pthread_setname_np(maint, "lh-maintenance");
		have_maint = 1;
	} else {
		lh_warn("cannot start the maintenance thread: results will not expire");
	}
	if (esc_start(&fs))
		lh_warn("cannot start the escalation worker: escalations will not time out");

	if (status_fd >= 0) {
		report("ready");
		close(status_fd);
		status_fd = -1;
		detach_stdio();
		lh_log_setup("lighthoused", LH_LOG_INFO, 1);
	}
	lh_info("serving %s (project %s, state %s)", fs.mountpoint, fs.project, fs.state_dir);

	loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(loop, fs.cfg.threads);
	fuse_loop_cfg_set_idle_threads(loop, fs.cfg.threads < 4 ? fs.cfg.threads : 4);
	rc = fuse_session_loop_mt(fs.se, loop);
	fuse_loop_cfg_destroy(loop);
	status = rc < 0 ? 1 : 0;
	if (rc < 0)
		lh_err("the session ended with an error: %s", strerror(-rc));

	want_stop = 1;
	if (have_maint) {
		uint64_t one = 1;
		ssize_t n = write(event_fd, &one, sizeof(one));

		(void)n;
		pthread_join(maint, NULL);
	}
	esc_stop(&fs);
	holds_stop(fs.holds);		/* held answers go out now */
	/*
	 * The scan stops, then the notifier (which feeds the recorder), then
	 * the recorder once it has recorded what is queued; all before the
	 * session goes, as they tell the kernel what changed.
	 */
	record_stop_scan(&fs);
	current_stop(&fs);
	record_stop(&fs);
	current_free(&fs);
	history_free(&fs);
	shadows_free(&fs);
	record_daemon_event(&fs, "daemon.stop");
	lh_store_close(fs.store);
	fs.store = NULL;
	streams_stop(&fs);
	reqtab_abort_parked(&fs, ENOTCONN);
	esc_abort_parked(&fs, ENOTCONN);
	fuse_session_unmount(fs.se);
out_signals:
	fuse_remove_signal_handlers(fs.se);
out_validator:
	streams_stop(&fs);
	streams_free(&fs);
	record_stop_scan(&fs);
	current_stop(&fs);
	record_stop(&fs);
	current_free(&fs);
	history_free(&fs);
	shadows_free(&fs);
	if (fs.esc)
		esc_free(&fs);
	learned_free(fs.learned);
	if (fs.reqs)
		reqtab_free(fs.reqs);
	holds_free(fs.holds);
	agents_free(fs.agents);
	lh_validator_free(fs.validator);
out_store:
	if (fs.store)
		lh_store_close(fs.store);
out_session:
	fuse_session_destroy(fs.se);
	ops_free_open();
	if (status_fd >= 0)
		close(status_fd);
	if (event_fd >= 0)
		close(event_fd);
	lh_buf_release(&err);
	fuse_opt_free_args(&args);
	free(fs.mountpoint);
	free(fs.project);
	free(fs.state_dir);
	free(fs.policy_path);
	free(o.project);
	free(o.state);
	free(o.policy);
	free(o.mountpoint);
	free(o.sync);
	if (status == 0)
		lh_info("stopped; the store is closed");
	return status;
}
