/* vigil: error codes shared by every module.
 *
 * 0 is success, failures are negative. A function named as an action
 * returns int (0 or a negative vg_err); a predicate returns bool. */
#ifndef VG_ERR_H
#define VG_ERR_H

enum vg_err {
	VG_OK = 0,
	VG_ERR_NOMEM = -1,    /* allocation failed */
	VG_ERR_IO = -2,       /* read, write or open failed (see errno) */
	VG_ERR_CONFIG = -3,   /* configuration invalid (errbuf says where) */
	VG_ERR_PARSE = -4,    /* input record rejected (reason says why) */
	VG_ERR_LIMIT = -5,    /* a configured limit was hit */
	VG_ERR_INVALID = -6,  /* bad argument from the caller */
	VG_ERR_NOTFOUND = -7, /* looked-up thing does not exist */
};

/* A short lower-case description of err ("out of memory"); never NULL. */
const char *vg_err_str(int err);

/* vigil's exit statuses (docs/commands.md): every command ends with one. */
enum vg_exit {
	VG_EXIT_OK = 0,
	VG_EXIT_CONFIG = 1, /* the configuration (or a rule file) was refused */
	VG_EXIT_USAGE = 2,  /* a bad command line */
	VG_EXIT_IO = 3,     /* input, output, Kafka or memory failed */
};

#endif
