/*
 * Scan results: the store.h scan answer for the selected maildir folder,
 * made from its fresh index, opening files only for what names do not tell.
 */
#ifndef MF_MDIR_RESULT_H
#define MF_MDIR_RESULT_H

#include "base/err.h"
#include "mdir-index.h"
#include "mdir-kwmap.h"
#include "store.h"

/*
 * Turn a fresh index (sorted, straight from mdir_index_scan) into a scan
 * result.  Files are opened only for what req->want asks and the names do
 * not tell: MF_WANT_SIZE without ",W=" reads the file and counts bare LFs,
 * MF_WANT_DATE (and req->since) stat it, MF_WANT_MSGID reads at most the
 * first MDIR_HEADER_MAX bytes and takes the Message-ID as store/header.h
 * reads it (the same reader as the IMAP side, so the two compare equal).
 * A file that vanished meanwhile keeps 0/NULL in those fields.
 */
#define MDIR_HEADER_MAX (256 * 1024)

int mdir_scan_result(const struct mdir_index *idx, int cur_fd, int new_fd,
		     const struct mdir_kwmap *kw, const struct mf_scan_req *req,
		     struct mf_scan_result **res_r, struct mf_err *err);

#endif
