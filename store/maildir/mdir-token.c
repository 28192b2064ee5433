/*
 * The change token of a maildir folder: an FNV-1a hash of the inodes and
 * mtimes of cur/ and new/, 0 while an mtime is too fresh to trust.
 */
#include "mdir-token.h"

#include <fcntl.h>
#include <stdbool.h>

static uint64_t
fnv_u64(uint64_t h, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		h ^= (v >> (i * 8)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool
too_fresh(const struct timespec *m, const struct timespec *now)
{
	int64_t ds = (int64_t)now->tv_sec - (int64_t)m->tv_sec;
	int64_t dns = (int64_t)now->tv_nsec - (int64_t)m->tv_nsec;

	/* now - m < 2 s, including an mtime in the future */
	return ds * 1000000000 + dns < 2 * (int64_t)1000000000;
}

uint64_t
mdir_token_compute(const struct stat *cur, const struct stat *new_,
		   const struct timespec *now)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (too_fresh(&cur->st_mtim, now) || too_fresh(&new_->st_mtim, now))
		return 0;
	h = fnv_u64(h, (uint64_t)cur->st_ino);
	h = fnv_u64(h, (uint64_t)cur->st_mtim.tv_sec);
	h = fnv_u64(h, (uint64_t)cur->st_mtim.tv_nsec);
	h = fnv_u64(h, (uint64_t)new_->st_ino);
	h = fnv_u64(h, (uint64_t)new_->st_mtim.tv_sec);
	h = fnv_u64(h, (uint64_t)new_->st_mtim.tv_nsec);
	return h != 0 ? h : 1;
}

int
mdir_dir_token(int dir_fd, uint64_t *token_r, struct mf_err *err)
{
	struct stat cur, new_;
	struct timespec now;

	if (fstatat(dir_fd, "cur", &cur, 0) < 0)
		return mf_err_sys(err, MF_E_BOX, "stat cur");
	if (fstatat(dir_fd, "new", &new_, 0) < 0)
		return mf_err_sys(err, MF_E_BOX, "stat new");
	clock_gettime(CLOCK_REALTIME, &now);
	*token_r = mdir_token_compute(&cur, &new_, &now);
	return 0;
}
