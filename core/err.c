#include "core/err.h"

const char *vg_err_str(int err)
{
	switch (err) {
	case VG_OK: return "success";
	case VG_ERR_NOMEM: return "out of memory";
	case VG_ERR_IO: return "input/output error";
	case VG_ERR_CONFIG: return "invalid configuration";
	case VG_ERR_PARSE: return "record rejected";
	case VG_ERR_LIMIT: return "limit exceeded";
	case VG_ERR_INVALID: return "invalid argument";
	case VG_ERR_NOTFOUND: return "not found";
	}
	return "unknown error";
}
