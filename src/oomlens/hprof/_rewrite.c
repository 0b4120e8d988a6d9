/* The two streaming kernels of strip and restore: the survey pass (survey.py drives it) and the
 * rewrite pass (rewrite.py drives it).
 *
 * Why C: strip runs on a user's device or CI host before a dump is uploaded, and must start
 * fast and stay small. These kernels used to be Numba, and loading Numba and LLVM alone took
 * ~0.3 s and ~90 MB, more than the whole job is allowed. Only the kernels moved: the Python
 * drivers, the state arrays, the edit plan and the outputs are the ones the Numba kernels had
 * (byte for byte, on every bundled dump and level). This file keeps those kernels' structure and
 * names, so it reads against their history in rewrite.py and survey.py:
 *
 *   rewrite_records, decide_edit, is_marked, zero_slot, apply_edit, zero_instance_fields,
 *   zero_class_statics, take_pending, ...      (rewrite.py)
 *   survey_records, matches_name, name_index, target_of, resolve_targets, survey_class,
 *   survey_instance                            (survey.py)
 *   sub_record_end, class_dump_length, root_extra_bytes, basic_type_size
 *                                              (scan.py, whose Numba sub_record_end stays for
 *                                              deobfuscate)
 *
 * The slot numbers (ST_*, SV_*), return codes (RET_*, R_*), modes and flags are written in both
 * places; the module exports its own as CONSTANTS and tests/test_strip_restore.py checks that
 * they agree with the drivers'.
 *
 * The dump is untrusted: every read of it is checked against the end of the bytes that hold it,
 * where the Numba code checked (a sub-record is measured by sub_record_end, which checks every
 * length against its record's end, before anything else reads it). Lengths are u4 and ids at
 * most 8 bytes, so offsets computed from them stay far below 2^63 in int64_t; the one sum that
 * a hostile dump could push that far (a measured record length) is capped. The driver's arrays
 * are checked for type and length on every call, and the state for pointing inside them, so a
 * driver bug is a ValueError, never a stray read or write.
 *
 * NumPy arrays arrive through the buffer protocol: no NumPy headers are needed to build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hprof_format.h"


/* -- rewrite.py ------------------------------------------------------------------------------ */
#define RAW_SPAN (INT64_C(1) << 20)

enum { F_STRIP_ALL_ARRAYS, F_STRIP_MARKED_ARRAYS, F_RESTORE_ARRAYS, F_ZERO_STATICS,
       F_ZERO_UNKNOWN_INSTANCES, N_FLAGS };
enum { MARKS_NONE, MARKS_BITSET, MARKS_SORTED };
enum { ST_P, ST_PEND, ST_O, ST_MODE, ST_REC, ST_REC_END, ST_BODY_END, ST_HDR_O, ST_MEASURED,
       ST_MQ, ST_OP_A, ST_OP_B, ST_ERR_AT, ST_ERR_TAG, ST_TRUNC_AT, ST_MISSING, ST_ENDED,
       ST_CURSOR, ST_ARRAYS_EMPTIED, ST_BYTES_REMOVED, ST_ARRAYS_FILLED, ST_BYTES_ADDED,
       ST_INSTANCES_ZEROED, ST_CLASSES_ZEROED, ST_RECORDS_RESIZED, ST_LAST_CLASS, ST_LAST_SLOT,
       N_STATE };
enum { MODE_TOP, MODE_BUFFERED, MODE_MEASURE, MODE_STREAM };
enum { RET_DONE, RET_PAUSE, RET_FLUSH, RET_RAW, RET_ZEROS, RET_ERROR };
enum { EDIT_NONE, EDIT_EMPTY_ARRAY, EDIT_FILL_ARRAY, EDIT_ZERO_FIELDS, EDIT_ZERO_STATICS };
#define APPLY_NEVER_FITS (-1) /* _apply_edit: buffered mode must fall back to measure + stream */
#define MEASURE_CAP (INT64_C(1) << 48) /* a measured record length past any HPROF record's */

/* -- survey.py ------------------------------------------------------------------------------- */
enum { SV_P, SV_REC_END, SV_HEAP_STARTED, SV_HEAP_RECORDS, SV_N_MATCH, SV_N_LC, SV_N_CLS,
       SV_N_FIELDS, SV_N_TARGETS, SV_N_MARKS, SV_N_NAMES, SV_RESOLVED, SV_EARLY, SV_LATE,
       SV_TRUNC_AT, SV_MISSING, SV_ERR_AT, SV_STRING_MARKS, SV_BITMAP_MARKS, SV_THREAD_NAMES,
       SV_GROW, N_SV };
enum { R_DONE, R_PAUSE, R_GROW, R_MARKS, R_ERROR, R_RESOLVE };
enum { GROW_MATCH, GROW_LC, GROW_CLASSES, GROW_TARGETS };
enum { TARGET_STRING, TARGET_BITMAP, TARGET_THREAD };
#define OFFSET_UNKNOWN (-1)
#define OFFSET_NONE (-2)
#define SEEN_BITS 20 /* bits of survey.Tables.seen (survey.SEEN_BITS) */
/* indices into survey.NAMES */
#define NAME_STRING_CLASS_0 0
#define NAME_STRING_CLASS_1 1
#define NAME_BITMAP_CLASS_0 2
#define NAME_BITMAP_CLASS_1 3
#define NAME_VALUE 4
#define NAME_MBUFFER 5
#define NAME_THREAD_CLASS_0 9
#define NAME_THREAD_CLASS_1 10
#define NAME_THREAD_NAME 11

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* np.searchsorted(a, x) (side "left") on an int64 array sorted ascending. */
static inline int64_t search_sorted(const int64_t *a, int64_t n, int64_t x) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* == the rewrite kernel ======================================================================= */

typedef struct {
    const uint8_t *src;
    int64_t size;
    uint8_t *out;
    int64_t cap;
    int64_t *st;
    int id_size;
    /* the EditPlan */
    const int64_t *flags;
    const int64_t *mark_meta;
    const uint8_t *mark_bits;
    int64_t n_mark_bytes;
    const int64_t *mark_sorted;
    int64_t n_sorted;
    const int64_t *zero_class_ids;  /* n_zero_classes; zero_begin has one more */
    int64_t n_zero_classes;
    const int64_t *zero_begin;
    const int64_t *zero_layout;
    const int64_t *zero_off;
    const int64_t *zero_len;
    int64_t n_runs;
} Rewrite;

/* Whether ``object_id`` is in the mark set (survey.build_mark_set). The distance to the bitset's
 * base is taken modulo 2^64, as build_mark_set measures the span: ids more than 2^63 apart
 * (only in made-up dumps) then still land on their own bits. */
static int is_marked(const int64_t *meta, const uint8_t *bits, int64_t n_bytes,
                     const int64_t *sorted, int64_t n_sorted, int64_t object_id) {
    if (meta[0] == MARKS_BITSET) {
        uint64_t d = (uint64_t)object_id - (uint64_t)meta[1];
        int64_t shift = meta[2];
        if (shift < 0 || shift > 63) return 0;  /* no mark set build_mark_set makes */
        if ((d & (((uint64_t)1 << shift) - 1)) != 0) return 0;
        uint64_t bit = d >> shift;
        if (meta[3] < 0 || bit >= (uint64_t)meta[3] || (bit >> 3) >= (uint64_t)n_bytes) return 0;
        return (bits[bit >> 3] >> (bit & 7)) & 1;
    }
    if (meta[0] == MARKS_SORTED) {
        int64_t i = search_sorted(sorted, n_sorted, object_id);
        return i < n_sorted && sorted[i] == object_id;
    }
    return 0;
}

/* Index of ``class_id`` in the zero-field table, or -1 (one-entry cache in the state). */
static inline int64_t zero_slot(const Rewrite *k, int64_t class_id) {
    int64_t *st = k->st;
    if (k->n_zero_classes == 0) return -1;
    if (st[ST_LAST_SLOT] >= 0 && st[ST_LAST_CLASS] == class_id) return st[ST_LAST_SLOT];
    int64_t i = search_sorted(k->zero_class_ids, k->n_zero_classes, class_id);
    if (i < k->n_zero_classes && k->zero_class_ids[i] == class_id) {
        st[ST_LAST_CLASS] = class_id;
        st[ST_LAST_SLOT] = i;
        return i;
    }
    return -1;
}

/* The edit for the (measured) sub-record at ``p``; ``*detail`` is the zero-field slot of an
 * instance, or the payload bytes an array loses or regains. */
static inline int decide_edit(const Rewrite *k, int64_t p, int64_t *detail) {
    const uint8_t *src = k->src;
    const int64_t *flags = k->flags;
    int id_size = k->id_size;
    int tag = src[p];
    *detail = 0;
    if (tag == SUB_PRIMITIVE_ARRAY_DUMP) {
        if (flags[F_STRIP_ALL_ARRAYS]
            || (flags[F_STRIP_MARKED_ARRAYS]
                && is_marked(k->mark_meta, k->mark_bits, k->n_mark_bytes, k->mark_sorted,
                             k->n_sorted, read_id(src, p + 1, id_size)))) {
            int64_t length = read_u4(src, p + 1 + id_size + 4);
            *detail = length * basic_type_size(src[p + id_size + 9], id_size);
            return EDIT_EMPTY_ARRAY;
        }
    } else if (tag == SUB_PRIMITIVE_ARRAY_NODATA) {
        if (flags[F_RESTORE_ARRAYS]) {
            int64_t length = read_u4(src, p + 1 + id_size + 4);
            *detail = length * basic_type_size(src[p + id_size + 9], id_size);
            return EDIT_FILL_ARRAY;
        }
    } else if (tag == SUB_INSTANCE_DUMP) {
        int64_t slot = zero_slot(k, read_id(src, p + 1 + id_size + 4, id_size));
        if (slot >= 0 || flags[F_ZERO_UNKNOWN_INSTANCES]) {
            *detail = slot;
            return EDIT_ZERO_FIELDS;
        }
    } else if (tag == SUB_CLASS_DUMP) {
        if (flags[F_ZERO_STATICS]) return EDIT_ZERO_STATICS;
    }
    return EDIT_NONE;
}

static inline int64_t array_header_size(int id_size) {
    return 1 + id_size + 9;  /* tag, id, u4 serial, u4 length, u1 type */
}

/* Zero the field bytes the plan names in the instance record copied to out[o:o+n]; all of them
 * for slot -1 (a class the plan does not know). */
static void zero_instance_fields(const Rewrite *k, int64_t o, int64_t n, int64_t slot) {
    uint8_t *data = k->out + o + 1 + 2 * k->id_size + 8;
    int64_t length = n - (1 + 2 * k->id_size + 8);
    if (slot < 0) {
        memset(data, 0, (size_t)length);
        return;
    }
    int64_t first = max64(k->zero_begin[slot], 0);
    int64_t last = min64(k->zero_begin[slot + 1], k->n_runs);
    for (int64_t r = first; r < last; r++) {
        int64_t a = k->zero_off[r];
        int64_t b = min64(a + k->zero_len[r], length);
        if (a >= 0 && b > a) memset(data + a, 0, (size_t)(b - a));
    }
    int64_t tail = k->zero_layout[slot];
    if (tail >= 0 && tail < length)  /* bytes no declared field explains */
        memset(data + tail, 0, (size_t)(length - tail));
}

/* Zero the primitive constant pool and static values of the class dump copied to out[o:o+n]
 * (measured by sub_record_end, so its counts and types are sound: the checks against ``end``
 * only repeat that). */
static void zero_class_statics(const Rewrite *k, int64_t o, int64_t n) {
    uint8_t *out = k->out;
    int id_size = k->id_size;
    int64_t end = o + n;
    int64_t q = o + 1 + 7 * id_size + 8;
    if (q + 2 > end) return;
    int64_t count = read_u2(out, q);
    q += 2;
    for (int64_t i = 0; i < count; i++) {  /* constant pool: u2 index, u1 type, value */
        if (q + 3 > end) return;
        int t = out[q + 2];
        int size = basic_type_size(t, id_size);
        if (size < 0 || q + 3 + size > end) return;
        if (t != TYPE_OBJECT) memset(out + q + 3, 0, (size_t)size);
        q += 3 + size;
    }
    if (q + 2 > end) return;
    count = read_u2(out, q);
    q += 2;
    for (int64_t i = 0; i < count; i++) {  /* statics: name id, u1 type, value */
        if (q + id_size + 1 > end) return;
        int t = out[q + id_size];
        int size = basic_type_size(t, id_size);
        if (size < 0 || q + id_size + 1 + size > end) return;
        if (t != TYPE_OBJECT) memset(out + q + id_size + 1, 0, (size_t)size);
        q += id_size + 1 + size;
    }
}

/* Move the pending unchanged span [ST_PEND, upto) to the output: copied into ``out``, or handed
 * to the driver (RET_RAW) when it is long or does not fit. Returns 0 or RET_RAW. */
static inline int take_pending(const Rewrite *k, int64_t upto) {
    int64_t *st = k->st;
    int64_t a = st[ST_PEND];
    int64_t n = upto - a;
    if (n <= 0) {
        st[ST_PEND] = upto;
        return 0;
    }
    int64_t o = st[ST_O];
    if (n >= RAW_SPAN || o + n > k->cap) {
        st[ST_OP_A] = a;
        st[ST_OP_B] = upto;
        st[ST_PEND] = upto;
        return RET_RAW;
    }
    memcpy(k->out + o, k->src + a, (size_t)n);
    st[ST_O] = o + n;
    st[ST_PEND] = upto;
    return 0;
}

static int rewrite_error(const Rewrite *k, int64_t at) {
    k->st[ST_ERR_AT] = at;
    k->st[ST_ERR_TAG] = (at >= 0 && at < k->size) ? k->src[at] : -1;
    return RET_ERROR;
}

static inline int64_t edited_size(int edit, int64_t detail, int64_t p, int64_t q, int id_size) {
    if (edit == EDIT_EMPTY_ARRAY) return array_header_size(id_size);
    if (edit == EDIT_FILL_ARRAY) return array_header_size(id_size) + detail;
    return q - p;
}

/* Write the edited sub-record [p, q) into ``out`` (pending span already taken). Returns 0,
 * RET_FLUSH when ``out`` has no room (nothing written), APPLY_NEVER_FITS in buffered mode when
 * the edit can never fit (the caller falls back to measure + stream; in stream mode, a
 * sub-record bigger than ``out``), or RET_ZEROS after writing the header of an array whose
 * zeros the driver writes. */
static int apply_edit(const Rewrite *k, int64_t p, int64_t q, int edit, int64_t detail,
                      int buffered) {
    int64_t *st = k->st;
    uint8_t *out = k->out;
    int64_t o = st[ST_O];
    int64_t cap = k->cap;
    if (edit == EDIT_EMPTY_ARRAY) {
        int64_t h = array_header_size(k->id_size);
        if (o + h > cap) return buffered ? APPLY_NEVER_FITS : RET_FLUSH;
        out[o] = SUB_PRIMITIVE_ARRAY_NODATA;
        memcpy(out + o + 1, k->src + p + 1, (size_t)(h - 1));
        st[ST_O] = o + h;
        st[ST_ARRAYS_EMPTIED] += 1;
        st[ST_BYTES_REMOVED] += detail;
        return 0;
    }
    if (edit == EDIT_FILL_ARRAY) {
        int64_t h = array_header_size(k->id_size);
        int small = detail < RAW_SPAN;
        if (o + h + (small ? detail : 0) > cap) return buffered ? APPLY_NEVER_FITS : RET_FLUSH;
        if (buffered && !small) return APPLY_NEVER_FITS;
        out[o] = SUB_PRIMITIVE_ARRAY_DUMP;
        memcpy(out + o + 1, k->src + p + 1, (size_t)(h - 1));
        st[ST_ARRAYS_FILLED] += 1;
        st[ST_BYTES_ADDED] += detail;
        if (small) {
            memset(out + o + h, 0, (size_t)detail);
            st[ST_O] = o + h + detail;
            return 0;
        }
        st[ST_O] = o + h;
        st[ST_OP_A] = detail;
        return RET_ZEROS;
    }
    int64_t n = q - p;
    if (o + n > cap) {
        if (buffered || n > cap) return APPLY_NEVER_FITS;
        return RET_FLUSH;
    }
    memcpy(out + o, k->src + p, (size_t)n);
    if (edit == EDIT_ZERO_FIELDS) {
        zero_instance_fields(k, o, n, detail);
        st[ST_INSTANCES_ZEROED] += 1;
    } else {
        zero_class_statics(k, o, n);
        st[ST_CLASSES_ZEROED] += 1;
    }
    st[ST_O] = o + n;
    return 0;
}

static inline void write_record_header(const Rewrite *k, int64_t o, int64_t rec, int64_t length) {
    memcpy(k->out + o, k->src + rec, 5);  /* tag and timestamp */
    write_u4(k->out, o + 5, length);
}

/* After the last complete sub-record of a heap dump record: go on, or stop if it was cut. */
static inline void end_heap_record(int64_t *st) {
    st[ST_MODE] = MODE_TOP;
    if (st[ST_BODY_END] < st[ST_REC_END]) {
        st[ST_ENDED] = 1;
        st[ST_P] = st[ST_BODY_END];
    } else {
        st[ST_P] = st[ST_REC_END];
    }
    st[ST_PEND] = st[ST_P];
    if (st[ST_MEASURED] != st[ST_REC_END] - st[ST_REC] - RECORD_HEADER_SIZE)
        st[ST_RECORDS_RESIZED] += 1;
}

/* End of the sub-record at p; -1 when the file cut it (the record then ends at p); -2 when it
 * is corrupt. */
static inline int64_t sub_end_or_cut(const Rewrite *k, int64_t p, int64_t limit) {
    int64_t q = sub_record_end(k->src, p, limit, k->id_size);
    if (q == -1 && k->st[ST_REC_END] > k->size) return -1;
    if (q < 0) return -2;
    return q;
}

/* Back to the start of the heap dump record, to measure it and stream it: buffered mode found
 * it cannot finish in ``out`` (only restore's growing arrays do that). */
static inline void fall_back_to_measure(int64_t *st) {
    st[ST_O] = st[ST_HDR_O];
    st[ST_BODY_END] = st[ST_REC_END];
    st[ST_MODE] = MODE_MEASURE;
    st[ST_MQ] = st[ST_REC] + RECORD_HEADER_SIZE;
}

/* The rewrite kernel: rewrite from the state in ``st`` until something needs the driver (see
 * RET_* and rewrite.py). Returns only at sub-record or record boundaries; buffered mode never
 * returns before its record is done (its header in ``out`` is not final before that). */
static int rewrite_records(const Rewrite *k, int64_t stop_at) {
    const uint8_t *src = k->src;
    int64_t *st = k->st;
    const int64_t size = k->size, cap = k->cap;
    const int id_size = k->id_size;
    for (;;) {
        int64_t mode = st[ST_MODE];
        if (mode == MODE_TOP) {
            int64_t p = st[ST_P];
            st[ST_CURSOR] = p;
            if (p >= size || st[ST_ENDED] == 1) {
                int r = take_pending(k, min64(p, size));
                return r ? r : RET_DONE;
            }
            if (p >= stop_at) {
                int r = take_pending(k, p);
                return r ? r : RET_PAUSE;
            }
            if (p + RECORD_HEADER_SIZE > size) {
                st[ST_TRUNC_AT] = p;
                st[ST_MISSING] = RECORD_HEADER_SIZE - (size - p);
                st[ST_ENDED] = 1;
                continue;
            }
            int tag = src[p];
            int64_t length = read_u4(src, p + 5);
            int64_t end = p + RECORD_HEADER_SIZE + length;
            if (end > size) {
                st[ST_TRUNC_AT] = p;
                st[ST_MISSING] = end - size;
            }
            if (!is_heap_record(tag)) {
                if (end > size) {  /* a cut record other than a heap dump: nothing of it is kept */
                    st[ST_ENDED] = 1;
                    continue;
                }
                st[ST_P] = end;
                if (end - st[ST_PEND] >= RAW_SPAN) return take_pending(k, end);
                continue;
            }
            int r = take_pending(k, p);
            if (r) return r;
            st[ST_REC] = p;
            st[ST_REC_END] = end;
            st[ST_BODY_END] = end;
            st[ST_MEASURED] = 0;
            int64_t body = p + RECORD_HEADER_SIZE;
            int64_t need = RECORD_HEADER_SIZE + min64(length, size - body);
            if (need <= cap) {
                if (st[ST_O] + need > cap) return RET_FLUSH;
                st[ST_HDR_O] = st[ST_O];
                st[ST_O] += RECORD_HEADER_SIZE;
                st[ST_MODE] = MODE_BUFFERED;
            } else {
                st[ST_MODE] = MODE_MEASURE;
                st[ST_MQ] = body;
            }
            st[ST_P] = body;
            st[ST_PEND] = body;
        } else if (mode == MODE_BUFFERED) {
            int64_t p = st[ST_P];
            int64_t limit = min64(st[ST_REC_END], size);
            int fallback = 0;
            while (p < limit) {
                int64_t q = sub_end_or_cut(k, p, limit);
                if (q == -2) return rewrite_error(k, p);
                if (q == -1) {
                    st[ST_BODY_END] = p;
                    break;
                }
                int64_t detail;
                int edit = decide_edit(k, p, &detail);
                if (edit != EDIT_NONE) {
                    int64_t n = p - st[ST_PEND];
                    if (st[ST_O] + n > cap) {
                        fallback = 1;
                        break;
                    }
                    memcpy(k->out + st[ST_O], src + st[ST_PEND], (size_t)n);
                    st[ST_O] += n;
                    if (apply_edit(k, p, q, edit, detail, 1) != 0) {
                        fallback = 1;
                        break;
                    }
                    st[ST_PEND] = q;
                }
                p = q;
            }
            if (fallback) {  /* restore made it too big for ``out``: undo, measure, stream */
                fall_back_to_measure(st);
                continue;
            }
            int64_t n = p - st[ST_PEND];
            if (st[ST_O] + n > cap) {  /* cannot happen for strip: its output is never longer */
                fall_back_to_measure(st);
                continue;
            }
            memcpy(k->out + st[ST_O], src + st[ST_PEND], (size_t)n);
            st[ST_O] += n;
            int64_t h = st[ST_HDR_O];
            st[ST_MEASURED] = st[ST_O] - h - RECORD_HEADER_SIZE;
            write_record_header(k, h, st[ST_REC], st[ST_MEASURED]);
            if (st[ST_BODY_END] == st[ST_REC_END] && st[ST_REC_END] > size)
                st[ST_BODY_END] = p;  /* the file ends exactly after a complete sub-record */
            st[ST_P] = p;
            end_heap_record(st);
        } else if (mode == MODE_MEASURE) {
            int64_t p = st[ST_MQ];
            int64_t limit = min64(st[ST_REC_END], size);
            int64_t measured = st[ST_MEASURED];
            while (p < limit) {
                if (p >= stop_at) {
                    st[ST_MQ] = p;
                    st[ST_MEASURED] = measured;
                    st[ST_CURSOR] = p;
                    return RET_PAUSE;
                }
                int64_t q = sub_end_or_cut(k, p, limit);
                if (q == -2) return rewrite_error(k, p);
                if (q == -1) break;
                int64_t detail;
                int edit = decide_edit(k, p, &detail);
                /* A record can hold 3e8 NODATA arrays that each claim 34 GB: stop counting
                 * well past the 4 GiB limit, before int64_t would overflow. */
                measured = min64(measured + edited_size(edit, detail, p, q, id_size), MEASURE_CAP);
                p = q;
            }
            if (measured >= (INT64_C(1) << 32)) {
                st[ST_MEASURED] = measured;
                return rewrite_error(k, st[ST_REC]);
            }
            st[ST_BODY_END] = p;
            st[ST_MEASURED] = measured;
            st[ST_MQ] = p;
            if (st[ST_O] + RECORD_HEADER_SIZE > cap) return RET_FLUSH;
            write_record_header(k, st[ST_O], st[ST_REC], measured);
            st[ST_O] += RECORD_HEADER_SIZE;
            st[ST_MODE] = MODE_STREAM;
            st[ST_P] = st[ST_REC] + RECORD_HEADER_SIZE;
            st[ST_PEND] = st[ST_P];
        } else {  /* MODE_STREAM: the sub-records were all read once while measuring */
            int64_t p = st[ST_P];
            int64_t limit = st[ST_BODY_END];
            while (p < limit) {
                if (p >= stop_at) {
                    st[ST_P] = p;
                    st[ST_CURSOR] = p;
                    int r = take_pending(k, p);
                    return r ? r : RET_PAUSE;
                }
                int64_t q = sub_record_end(src, p, limit, id_size);
                if (q < 0) return rewrite_error(k, p);  /* measured before: only a driver bug */
                int64_t detail;
                int edit = decide_edit(k, p, &detail);
                if (edit == EDIT_NONE) {
                    p = q;
                    if (p - st[ST_PEND] >= RAW_SPAN) {
                        st[ST_P] = p;
                        return take_pending(k, p);
                    }
                    continue;
                }
                st[ST_P] = p;
                int r = take_pending(k, p);
                if (r) return r;
                r = apply_edit(k, p, q, edit, detail, 0);
                if (r == RET_FLUSH) return r;
                if (r == APPLY_NEVER_FITS) return rewrite_error(k, p);
                p = q;
                st[ST_P] = p;
                st[ST_PEND] = p;
                if (r == RET_ZEROS) return r;
            }
            st[ST_P] = p;
            int r = take_pending(k, p);
            if (r) return r;
            end_heap_record(st);
        }
    }
}

/* == the survey kernel ======================================================================== */

typedef struct {
    const uint8_t *src;
    int64_t size;
    int id_size;
    const uint8_t *names;
    int64_t n_names_bytes;
    const int64_t *name_off;
    int64_t n_name_off;
    int collect, mark;
    /* survey.Tables, with the room of each group of columns */
    int64_t *match_id;
    int32_t *match_name;
    int64_t match_cap;
    int64_t *lc_class, *lc_name;
    int64_t lc_cap;
    int64_t *cls_id, *cls_super, *cls_fbegin, *cls_nfields;
    int64_t cls_cap;
    int64_t *fd_name;
    uint8_t *fd_type;
    int64_t fd_cap;
    int64_t *tg_class;
    int8_t *tg_kind;
    int64_t *tg_offset;
    int64_t tg_cap;
    int64_t *marks, *mark_owner;
    int64_t marks_cap;
    int64_t *thread_names;
    int64_t thread_names_cap;
    uint8_t *seen;  /* 2^SEEN_BITS bits: instances of a class with this hash have been read */
    /* Where each marked class is in tg_*: open addressing on the class id, index + 1 (0: free
     * slot), at most half full. Made for one call from tg_class (survey.py rewrites the tables
     * between calls), so the driver never sees it. A lookup per instance must not scan the
     * table: with Thread, every subclass of it in the app is a marked class. */
    int64_t *tg_slots;
    int tg_slot_bits;
    int64_t *st;
} Survey;

/* Fibonacci hashing: a class id times 2^64 / phi, whose top bits index the marked-class table
 * and the ``seen`` filter (a class's instances are looked up in both, so the product is made
 * once). */
static inline uint64_t class_hash(int64_t class_id) {
    return (uint64_t)class_id * UINT64_C(0x9E3779B97F4A7C15);
}

/* The field each kind of marked class holds the interesting reference in (NAMES indices). */
static const int64_t TARGET_FIELD[] = {NAME_VALUE, NAME_MBUFFER, NAME_THREAD_NAME};

/* Index in NAMES of the ``n`` bytes at ``p``, or -1. */
static int64_t matches_name(const Survey *s, int64_t p, int64_t n) {
    for (int64_t k = 0; k + 1 < s->n_name_off; k++) {
        int64_t a = s->name_off[k], b = s->name_off[k + 1];
        if (b - a != n || a < 0 || b > s->n_names_bytes) continue;
        if (memcmp(s->src + p, s->names + a, (size_t)n) == 0) return k;
    }
    return -1;
}

/* Which of NAMES the STRING id ``name_id`` is, or -1. */
static int64_t name_index(const Survey *s, int64_t name_id) {
    for (int64_t i = 0; i < s->st[SV_N_MATCH]; i++)
        if (s->match_id[i] == name_id) return s->match_name[i];
    return -1;
}

/* The bit of ``seen`` for a class: a one-hash Bloom filter of the classes whose instances have
 * been read. A class dump read later, of a subclass of a marked class, then tells whether
 * instances of it may have been passed over unmarked (R_RESOLVE could not know the subclass):
 * a false "maybe" only costs a second pass. */
static inline int seen(const Survey *s, uint64_t hash) {
    uint64_t b = hash >> (64 - SEEN_BITS);
    return (s->seen[b >> 3] >> (b & 7)) & 1;
}

static inline void note_seen(const Survey *s, uint64_t hash) {
    uint64_t b = hash >> (64 - SEEN_BITS);
    s->seen[b >> 3] |= (uint8_t)(1u << (b & 7));
}

/* Index in tg_* of the class ``class_id`` (hashed: ``hash``; its first entry), or -1. */
static inline int64_t target_hashed(const Survey *s, uint64_t hash, int64_t class_id) {
    uint64_t mask = ((uint64_t)1 << s->tg_slot_bits) - 1;
    for (uint64_t h = hash >> (64 - s->tg_slot_bits);; h = (h + 1) & mask) {
        int64_t e = s->tg_slots[h];
        if (e == 0) return -1;
        if (s->tg_class[e - 1] == class_id) return e - 1;
    }
}

static inline int64_t target_of(const Survey *s, int64_t class_id) {
    return target_hashed(s, class_hash(class_id), class_id);
}

/* Make tg_*[k] findable by target_of (a later duplicate of a class id stays unfound). */
static inline void index_target(const Survey *s, int64_t k) {
    uint64_t mask = ((uint64_t)1 << s->tg_slot_bits) - 1;
    uint64_t first = class_hash(s->tg_class[k]) >> (64 - s->tg_slot_bits);
    for (uint64_t h = first;; h = (h + 1) & mask) {
        int64_t e = s->tg_slots[h];
        if (e == 0) {
            s->tg_slots[h] = k + 1;
            return;
        }
        if (s->tg_class[e - 1] == s->tg_class[k]) return;
    }
}

static int target_kind_named(int64_t name) {
    if (name == NAME_STRING_CLASS_0 || name == NAME_STRING_CLASS_1) return TARGET_STRING;
    if (name == NAME_BITMAP_CLASS_0 || name == NAME_BITMAP_CLASS_1) return TARGET_BITMAP;
    if (name == NAME_THREAD_CLASS_0 || name == NAME_THREAD_CLASS_1) return TARGET_THREAD;
    return -1;
}

/* Marked classes from the names read so far (called when the first heap dump starts). */
static int resolve_targets(const Survey *s) {
    int64_t *st = s->st;
    for (int64_t i = 0; i < st[SV_N_LC]; i++) {
        int kind = target_kind_named(name_index(s, s->lc_name[i]));
        if (kind < 0 || target_of(s, s->lc_class[i]) >= 0) continue;
        int64_t k = st[SV_N_TARGETS];
        if (k == s->tg_cap) {
            st[SV_GROW] = GROW_TARGETS;
            return R_GROW;
        }
        s->tg_class[k] = s->lc_class[i];
        s->tg_kind[k] = (int8_t)kind;
        s->tg_offset[k] = OFFSET_UNKNOWN;
        st[SV_N_TARGETS] = k + 1;
        index_target(s, k);
    }
    return 0;
}

/* Record the CLASS_DUMP at ``p`` (tag included, measured by sub_record_end); for a marked class,
 * the offset of its ``value`` / ``mBuffer`` / ``name`` field among its own fields (they come
 * first in instance data). */
static int survey_class(const Survey *s, int64_t p) {
    const uint8_t *src = s->src;
    int64_t *st = s->st;
    int id_size = s->id_size;
    int64_t q = p + 1 + 7 * id_size + 8;
    int64_t n = read_u2(src, q);
    q += 2;
    for (int64_t i = 0; i < n; i++) q += 3 + basic_type_size(src[q + 2], id_size);
    n = read_u2(src, q);
    q += 2;
    for (int64_t i = 0; i < n; i++) q += id_size + 1 + basic_type_size(src[q + id_size], id_size);
    int64_t nf = read_u2(src, q);
    q += 2;
    int64_t k = st[SV_N_CLS];
    int64_t f = st[SV_N_FIELDS];
    if (k == s->cls_cap || f + nf > s->fd_cap) {
        st[SV_GROW] = GROW_CLASSES;
        return R_GROW;
    }
    int64_t class_id = read_id(src, p + 1, id_size);
    int64_t super_id = read_id(src, p + 1 + id_size + 4, id_size);
    int64_t target = target_of(s, class_id);
    /* a subclass of a marked class whose layout is known is marked too (its own fields first) */
    int64_t parent = target < 0 ? target_of(s, super_id) : -1;
    if (parent >= 0 && s->tg_offset[parent] == OFFSET_UNKNOWN) parent = -1;
    if (parent >= 0 && st[SV_N_TARGETS] == s->tg_cap) {
        st[SV_GROW] = GROW_TARGETS;
        return R_GROW;
    }
    s->cls_id[k] = class_id;
    s->cls_super[k] = super_id;
    s->cls_fbegin[k] = f;
    s->cls_nfields[k] = nf;
    int64_t wanted = -1;
    if (target >= 0 && s->tg_offset[target] == OFFSET_UNKNOWN) {
        wanted = TARGET_FIELD[s->tg_kind[target]];
        s->tg_offset[target] = OFFSET_NONE;
    }
    int64_t offset = 0;
    for (int64_t i = 0; i < nf; i++) {
        int64_t name = read_id(src, q, id_size);
        int ftype = src[q + id_size];
        s->fd_name[f + i] = name;
        s->fd_type[f + i] = (uint8_t)ftype;
        if (wanted >= 0 && ftype == TYPE_OBJECT && name_index(s, name) == wanted) {
            s->tg_offset[target] = offset;
            wanted = -1;
        }
        offset += basic_type_size(ftype, id_size);
        q += id_size + 1;
    }
    st[SV_N_CLS] = k + 1;
    st[SV_N_FIELDS] = f + nf;
    if (parent >= 0) {
        int64_t t = st[SV_N_TARGETS];
        int64_t above = s->tg_offset[parent];
        s->tg_class[t] = class_id;
        s->tg_kind[t] = s->tg_kind[parent];
        s->tg_offset[t] = above >= 0 ? above + offset : OFFSET_NONE;
        st[SV_N_TARGETS] = t + 1;
        index_target(s, t);
        if (seen(s, class_hash(class_id))) st[SV_LATE] += 1;
    }
    return 0;
}

/* For an instance at ``p`` (measured) of a marked class: mark the array a String or Bitmap
 * holds (with the String's id beside it, 0 for a Bitmap), or record what a Thread's ``name``
 * is (a String, or a char[] before JDK 9's). R_MARKS, with nothing recorded, when the chunk it
 * needs is full. */
static inline int survey_instance(const Survey *s, int64_t p) {
    const uint8_t *src = s->src;
    int64_t *st = s->st;
    int id_size = s->id_size;
    int64_t class_id = read_id(src, p + 1 + id_size + 4, id_size);
    uint64_t hash = class_hash(class_id);
    int64_t k = target_hashed(s, hash, class_id);
    note_seen(s, hash);  /* after the lookup: a byte store may alias what it reads */
    if (k < 0) return 0;
    int64_t offset = s->tg_offset[k];
    if (offset == OFFSET_UNKNOWN) {
        st[SV_EARLY] += 1;
        return 0;
    }
    /* the field must lie inside the instance's data, whose length the record gives */
    if (offset < 0 || offset + id_size > read_u4(src, p + 1 + 2 * id_size + 4)) return 0;
    int64_t ref = read_id(src, p + 1 + 2 * id_size + 8 + offset, id_size);
    if (ref == 0) return 0;
    int kind = s->tg_kind[k];
    if (kind == TARGET_THREAD) {
        int64_t n = st[SV_N_NAMES];
        if (n == s->thread_names_cap) return R_MARKS;
        s->thread_names[n] = ref;
        st[SV_N_NAMES] = n + 1;
        st[SV_THREAD_NAMES] += 1;
        return 0;
    }
    int64_t n = st[SV_N_MARKS];
    if (n == s->marks_cap) return R_MARKS;
    s->marks[n] = ref;
    s->mark_owner[n] = kind == TARGET_STRING ? read_id(src, p + 1, id_size) : 0;
    st[SV_N_MARKS] = n + 1;
    if (kind == TARGET_STRING) st[SV_STRING_MARKS] += 1;
    else st[SV_BITMAP_MARKS] += 1;
    return 0;
}

/* The survey kernel: walk from ``st[SV_P]``: with ``collect``, record names, LOAD_CLASS and
 * CLASS_DUMPs (and resolve the marked classes when the first heap dump starts); with ``mark``,
 * mark the arrays of instances of the classes in the tg_* tables. With both, it returns
 * R_RESOLVE at the first instance, so that the driver can add the subclasses of the marked
 * classes whose class dumps it has read. Pauses (R_PAUSE) at the first sub-record at or after
 * ``stop_at``, and returns whenever a table or a chunk is full (nothing of the current item
 * applied, so calling again resumes exactly). */
static int survey_records(const Survey *s, int64_t stop_at) {
    const uint8_t *src = s->src;
    int64_t *st = s->st;
    const int64_t size = s->size;
    const int id_size = s->id_size;
    for (;;) {
        int64_t p = st[SV_P];
        int64_t rec_end = st[SV_REC_END];
        if (rec_end > 0) {
            int64_t limit = min64(rec_end, size);
            int resolve = s->collect && s->mark && st[SV_RESOLVED] == 0;
            while (p < limit) {
                if (p >= stop_at) {
                    st[SV_P] = p;
                    return R_PAUSE;
                }
                int64_t q = sub_record_end(src, p, limit, id_size);
                if (q == -2 || (q == -1 && rec_end <= size)) {
                    st[SV_P] = p;
                    st[SV_ERR_AT] = p;
                    return R_ERROR;
                }
                if (q == -1) {
                    st[SV_P] = size;  /* cut by the end of the file */
                    st[SV_REC_END] = 0;
                    return R_DONE;
                }
                int tag = src[p];
                int r = 0;
                if (tag == SUB_INSTANCE_DUMP) {
                    if (resolve) {
                        st[SV_RESOLVED] = 1;
                        r = R_RESOLVE;
                    } else if (s->mark) {
                        r = survey_instance(s, p);
                    }
                } else if (tag == SUB_CLASS_DUMP) {
                    if (s->collect) r = survey_class(s, p);
                }
                if (r) {
                    st[SV_P] = p;
                    return r;
                }
                p = q;
            }
            st[SV_P] = p;
            st[SV_REC_END] = 0;
            continue;
        }
        if (p >= size) return R_DONE;
        if (p >= stop_at) return R_PAUSE;
        if (p + RECORD_HEADER_SIZE > size) {
            st[SV_TRUNC_AT] = p;
            st[SV_MISSING] = RECORD_HEADER_SIZE - (size - p);
            st[SV_P] = size;
            return R_DONE;
        }
        int tag = src[p];
        int64_t body = p + RECORD_HEADER_SIZE;
        int64_t end = body + read_u4(src, p + 5);
        if (end > size) {
            st[SV_TRUNC_AT] = p;
            st[SV_MISSING] = end - size;
        }
        if (is_heap_record(tag)) {
            if (s->collect && st[SV_HEAP_STARTED] == 0) {
                int r = resolve_targets(s);
                if (r) return r;
                st[SV_HEAP_STARTED] = 1;
            }
            st[SV_HEAP_RECORDS] += 1;
            st[SV_P] = body;
            st[SV_REC_END] = end;
            continue;
        }
        if (end > size) {
            st[SV_P] = size;
            return R_DONE;
        }
        if (s->collect && tag == TAG_STRING && end - body >= id_size) {
            int64_t k = matches_name(s, body + id_size, end - body - id_size);
            if (k >= 0) {
                int64_t n = st[SV_N_MATCH];
                if (n == s->match_cap) {
                    st[SV_GROW] = GROW_MATCH;
                    return R_GROW;
                }
                s->match_id[n] = read_id(src, body, id_size);
                s->match_name[n] = (int32_t)k;
                st[SV_N_MATCH] = n + 1;
            }
        } else if (s->collect && tag == TAG_LOAD_CLASS && end - body >= 8 + 2 * id_size) {
            int64_t n = st[SV_N_LC];
            if (n == s->lc_cap) {
                st[SV_GROW] = GROW_LC;
                return R_GROW;
            }
            s->lc_class[n] = read_id(src, body + 4, id_size);
            s->lc_name[n] = read_id(src, body + 8 + id_size, id_size);
            st[SV_N_LC] = n + 1;
        }
        st[SV_P] = end;
    }
}

/* == Python interface ========================================================================= */

/* Buffers held for one call, released together. */
#define MAX_ARGS 24
typedef struct {
    Py_buffer views[MAX_ARGS];
    int n;
} Held;

static void release_all(Held *h) {
    for (int i = 0; i < h->n; i++) PyBuffer_Release(&h->views[i]);
    h->n = 0;
}

/* Element kinds an argument must have (a NumPy array's buffer format and item size). */
enum { BYTES, U8, I8, I32, I64 };

static int format_is(const char *format, Py_ssize_t itemsize, int kind) {
    if (format == NULL) format = "B";
    if (format[0] == '@' || format[0] == '=') format++;  /* native order only */
    char c = format[0];
    if (c == '\0' || format[1] != '\0') return 0;
    switch (kind) {
    case U8: return itemsize == 1 && c == 'B';
    case I8: return itemsize == 1 && c == 'b';
    case I32: return itemsize == 4 && (c == 'i' || c == 'l');
    case I64: return itemsize == 8 && (c == 'l' || c == 'q');
    default: return 0;
    }
}

/* Take the buffer of ``obj``: contiguous, writable when asked, of ``kind`` elements (BYTES: any
 * contiguous bytes). Returns its data and sets ``*count`` to its number of elements. */
static void *take(Held *h, PyObject *obj, int kind, int writable, const char *name,
                  int64_t *count) {
    if (h->n == MAX_ARGS) {
        PyErr_SetString(PyExc_SystemError, "_rewrite: too many buffers");
        return NULL;
    }
    Py_buffer *v = &h->views[h->n];
    int flags = (kind == BYTES ? PyBUF_SIMPLE : PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
                | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, v, flags) < 0) return NULL;
    h->n++;
    if (kind != BYTES) {
        if (v->ndim > 1 || !format_is(v->format, v->itemsize, kind)
            || ((uintptr_t)v->buf % (uintptr_t)v->itemsize) != 0) {
            PyErr_Format(PyExc_ValueError, "%s: wrong array type", name);
            return NULL;
        }
        *count = v->len / v->itemsize;
    } else {
        *count = v->len;
    }
    return v->buf;
}

static int need(int ok, const char *what) {
    if (!ok) PyErr_Format(PyExc_ValueError, "_rewrite: %s", what);
    return ok;
}

/* The state must describe positions inside the buffers it is used with: a driver bug is then a
 * ValueError, not a read or write out of bounds. */
static int rewrite_state_ok(const Rewrite *k) {
    const int64_t *st = k->st;
    int64_t mode = st[ST_MODE];
    if (mode < MODE_TOP || mode > MODE_STREAM) return 0;
    if (st[ST_O] < 0 || st[ST_O] > k->cap) return 0;
    if (st[ST_P] < 0 || st[ST_P] > k->size || st[ST_PEND] < 0 || st[ST_PEND] > k->size)
        return 0;
    if (mode != MODE_TOP) {
        if (st[ST_REC] < 0 || st[ST_REC] + RECORD_HEADER_SIZE > k->size) return 0;
        if (st[ST_REC_END] < st[ST_REC] + RECORD_HEADER_SIZE) return 0;
        if (st[ST_BODY_END] < 0 || st[ST_BODY_END] > st[ST_REC_END]) return 0;
        if (st[ST_MQ] < 0 || st[ST_MQ] > k->size) return 0;
    }
    if (mode == MODE_BUFFERED && (st[ST_HDR_O] < 0 || st[ST_HDR_O] + RECORD_HEADER_SIZE > st[ST_O]))
        return 0;
    if (mode == MODE_STREAM && st[ST_BODY_END] > k->size) return 0;
    if (st[ST_LAST_SLOT] >= k->n_zero_classes) return 0;
    return 1;
}

static PyObject *py_rewrite_records(PyObject *self, PyObject *args) {
    PyObject *o_src, *o_out, *o_st, *o_flags, *o_meta, *o_bits, *o_sorted, *o_ids, *o_begin,
        *o_layout, *o_off, *o_len;
    int id_size;
    long long stop_at;
    if (!PyArg_ParseTuple(args, "OiLOOOOOOOOOOO:rewrite_records", &o_src, &id_size, &stop_at,
                          &o_out, &o_st, &o_flags, &o_meta, &o_bits, &o_sorted, &o_ids,
                          &o_begin, &o_layout, &o_off, &o_len))
        return NULL;
    Held h = {.n = 0};
    Rewrite k = {.id_size = id_size};
    int64_t n_st, n_flags, n_meta, n_begin, n_layout, n_off, n_len;
    int ok = (k.src = take(&h, o_src, BYTES, 0, "src", &k.size)) != NULL
             && (k.out = take(&h, o_out, BYTES, 1, "out", &k.cap)) != NULL
             && (k.st = take(&h, o_st, I64, 1, "st", &n_st)) != NULL
             && (k.flags = take(&h, o_flags, I64, 0, "flags", &n_flags)) != NULL
             && (k.mark_meta = take(&h, o_meta, I64, 0, "mark_meta", &n_meta)) != NULL
             && (k.mark_bits = take(&h, o_bits, U8, 0, "mark_bits", &k.n_mark_bytes)) != NULL
             && (k.mark_sorted = take(&h, o_sorted, I64, 0, "mark_sorted", &k.n_sorted)) != NULL
             && (k.zero_class_ids = take(&h, o_ids, I64, 0, "zero_class_ids",
                                         &k.n_zero_classes)) != NULL
             && (k.zero_begin = take(&h, o_begin, I64, 0, "zero_begin", &n_begin)) != NULL
             && (k.zero_layout = take(&h, o_layout, I64, 0, "zero_layout", &n_layout)) != NULL
             && (k.zero_off = take(&h, o_off, I64, 0, "zero_off", &n_off)) != NULL
             && (k.zero_len = take(&h, o_len, I64, 0, "zero_len", &n_len)) != NULL
             && need(id_size == 4 || id_size == 8, "id size must be 4 or 8")
             && need(n_st >= N_STATE && n_flags >= N_FLAGS && n_meta >= 4, "short state or plan")
             && need(n_begin == k.n_zero_classes + 1 && n_layout == k.n_zero_classes,
                     "inconsistent zero-field table")
             /* a zero fill shorter than RAW_SPAN goes into ``out`` with its header: were ``out``
                smaller, stream mode would ask for a flush forever */
             && need(k.cap >= array_header_size(id_size) + RAW_SPAN - 1,
                     "output buffer too small for a zero fill of RAW_SPAN - 1 bytes")
             && need(rewrite_state_ok(&k), "inconsistent rewrite state");
    int code = 0;
    if (ok) {
        k.n_runs = n_off < n_len ? n_off : n_len;
        Py_BEGIN_ALLOW_THREADS
        code = rewrite_records(&k, stop_at);
        Py_END_ALLOW_THREADS
    }
    release_all(&h);
    return ok ? PyLong_FromLong(code) : NULL;
}

static PyObject *py_is_marked(PyObject *self, PyObject *args) {
    PyObject *o_meta, *o_bits, *o_sorted;
    long long object_id;
    if (!PyArg_ParseTuple(args, "OOOL:is_marked", &o_meta, &o_bits, &o_sorted, &object_id))
        return NULL;
    Held h = {.n = 0};
    const int64_t *meta, *sorted;
    const uint8_t *bits;
    int64_t n_meta, n_bits, n_sorted;
    int ok = (meta = take(&h, o_meta, I64, 0, "mark_meta", &n_meta)) != NULL
             && (bits = take(&h, o_bits, U8, 0, "mark_bits", &n_bits)) != NULL
             && (sorted = take(&h, o_sorted, I64, 0, "mark_sorted", &n_sorted)) != NULL
             && need(n_meta >= 4, "short mark_meta");
    int marked = ok && is_marked(meta, bits, n_bits, sorted, n_sorted, object_id);
    release_all(&h);
    if (!ok) return NULL;
    return PyBool_FromLong(marked);
}

static int survey_state_ok(const Survey *s) {
    const int64_t *st = s->st;
    return st[SV_P] >= 0 && st[SV_P] <= s->size && st[SV_REC_END] >= 0
           && st[SV_N_MATCH] >= 0 && st[SV_N_MATCH] <= s->match_cap
           && st[SV_N_LC] >= 0 && st[SV_N_LC] <= s->lc_cap
           && st[SV_N_CLS] >= 0 && st[SV_N_CLS] <= s->cls_cap
           && st[SV_N_FIELDS] >= 0 && st[SV_N_FIELDS] <= s->fd_cap
           && st[SV_N_TARGETS] >= 0 && st[SV_N_TARGETS] <= s->tg_cap
           && st[SV_N_MARKS] >= 0 && st[SV_N_MARKS] <= s->marks_cap
           && st[SV_N_NAMES] >= 0 && st[SV_N_NAMES] <= s->thread_names_cap;
}

/* Every marked class of the tables must have a kind survey_class knows the field of. */
static int target_kinds_ok(const Survey *s) {
    for (int64_t k = 0; k < s->st[SV_N_TARGETS]; k++)
        if (s->tg_kind[k] < TARGET_STRING || s->tg_kind[k] > TARGET_THREAD) return 0;
    return 1;
}

/* Room for the marked-class index: a power of two at least twice the tables' room, so that it
 * is never more than half full. NULL (MemoryError set) when it cannot be had. */
static int64_t *new_target_slots(Survey *s) {
    int bits = 4;
    while (bits < 62 && ((int64_t)1 << bits) < 2 * s->tg_cap) bits++;
    s->tg_slot_bits = bits;
    int64_t *slots = calloc((size_t)1 << bits, sizeof(int64_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    s->tg_slots = slots;
    for (int64_t k = 0; k < s->st[SV_N_TARGETS]; k++) index_target(s, k);
    return slots;
}

#define N_TABLES 17
static PyObject *py_survey_records(PyObject *self, PyObject *args) {
    PyObject *o_src, *o_names, *o_name_off, *o_st, *t[N_TABLES];
    long long stop_at;
    int id_size, collect, mark;
    if (!PyArg_ParseTuple(args, "OLiOOppOOOOOOOOOOOOOOOOOO:survey_records", &o_src, &stop_at,
                          &id_size, &o_names, &o_name_off, &collect, &mark, &t[0], &t[1], &t[2],
                          &t[3], &t[4], &t[5], &t[6], &t[7], &t[8], &t[9], &t[10], &t[11], &t[12],
                          &t[13], &t[14], &t[15], &t[16], &o_st))
        return NULL;
    Held h = {.n = 0};
    Survey s = {.id_size = id_size, .collect = collect, .mark = mark};
    int64_t n[N_TABLES], n_st;
    /* survey.Tables, in field order */
    int ok = (s.src = take(&h, o_src, BYTES, 0, "src", &s.size)) != NULL
             && (s.names = take(&h, o_names, U8, 0, "names", &s.n_names_bytes)) != NULL
             && (s.name_off = take(&h, o_name_off, I64, 0, "name_off", &s.n_name_off)) != NULL
             && (s.match_id = take(&h, t[0], I64, 1, "match_id", &n[0])) != NULL
             && (s.match_name = take(&h, t[1], I32, 1, "match_name", &n[1])) != NULL
             && (s.lc_class = take(&h, t[2], I64, 1, "lc_class", &n[2])) != NULL
             && (s.lc_name = take(&h, t[3], I64, 1, "lc_name", &n[3])) != NULL
             && (s.cls_id = take(&h, t[4], I64, 1, "cls_id", &n[4])) != NULL
             && (s.cls_super = take(&h, t[5], I64, 1, "cls_super", &n[5])) != NULL
             && (s.cls_fbegin = take(&h, t[6], I64, 1, "cls_fbegin", &n[6])) != NULL
             && (s.cls_nfields = take(&h, t[7], I64, 1, "cls_nfields", &n[7])) != NULL
             && (s.fd_name = take(&h, t[8], I64, 1, "fd_name", &n[8])) != NULL
             && (s.fd_type = take(&h, t[9], U8, 1, "fd_type", &n[9])) != NULL
             && (s.tg_class = take(&h, t[10], I64, 1, "tg_class", &n[10])) != NULL
             && (s.tg_kind = take(&h, t[11], I8, 1, "tg_kind", &n[11])) != NULL
             && (s.tg_offset = take(&h, t[12], I64, 1, "tg_offset", &n[12])) != NULL
             && (s.marks = take(&h, t[13], I64, 1, "marks", &n[13])) != NULL
             && (s.mark_owner = take(&h, t[14], I64, 1, "mark_owner", &n[14])) != NULL
             && (s.thread_names = take(&h, t[15], I64, 1, "thread_names", &n[15])) != NULL
             && (s.seen = take(&h, t[16], U8, 1, "seen", &n[16])) != NULL
             && (s.st = take(&h, o_st, I64, 1, "st", &n_st)) != NULL
             && need(id_size == 4 || id_size == 8, "id size must be 4 or 8")
             && need(n_st >= N_SV, "short survey state");
    if (ok) {
        s.match_cap = min64(n[0], n[1]);
        s.lc_cap = min64(n[2], n[3]);
        s.cls_cap = min64(min64(n[4], n[5]), min64(n[6], n[7]));
        s.fd_cap = min64(n[8], n[9]);
        s.tg_cap = min64(min64(n[10], n[11]), n[12]);
        s.marks_cap = min64(n[13], n[14]);
        s.thread_names_cap = n[15];
        ok = need(n[16] == (INT64_C(1) << SEEN_BITS) / 8, "seen must have 2^SEEN_BITS bits")
             && need(s.marks_cap > 0 && s.thread_names_cap > 0 && survey_state_ok(&s)
                  && target_kinds_ok(&s), "inconsistent survey state")
             && new_target_slots(&s) != NULL;
    }
    int code = 0;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        code = survey_records(&s, stop_at);
        Py_END_ALLOW_THREADS
    }
    free(s.tg_slots);
    release_all(&h);
    return ok ? PyLong_FromLong(code) : NULL;
}

static PyMethodDef methods[] = {
    {"rewrite_records", py_rewrite_records, METH_VARARGS,
     "rewrite_records(src, id_size, stop_at, out, st, *plan) -> RET_* code (see rewrite.py; "
     "plan is the EditPlan's arrays in field order)"},
    {"survey_records", py_survey_records, METH_VARARGS,
     "survey_records(src, stop_at, id_size, names, name_off, collect, mark, *tables, st) -> R_* "
     "code (see survey.py; tables is Tables' arrays in field order)"},
    {"is_marked", py_is_marked, METH_VARARGS,
     "is_marked(mark_meta, mark_bits, mark_sorted, object_id) -> bool"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef rewrite_module = {
    PyModuleDef_HEAD_INIT, "_rewrite", "The survey and rewrite kernels of strip and restore "
    "(see rewrite.py and survey.py)", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rewrite(void) {
    PyObject *m = PyModule_Create(&rewrite_module);
    if (m == NULL) return NULL;
    /* The numbers the Python drivers must agree on (tests/test_strip_restore.py compares them
     * with rewrite.py's and survey.py's). */
#define K(name) {#name, (long long)(name)}
    static const struct { const char *name; long long value; } constants[] = {
        K(RAW_SPAN), K(N_FLAGS), K(F_STRIP_ALL_ARRAYS), K(F_STRIP_MARKED_ARRAYS),
        K(F_RESTORE_ARRAYS), K(F_ZERO_STATICS), K(F_ZERO_UNKNOWN_INSTANCES),
        K(MARKS_NONE), K(MARKS_BITSET), K(MARKS_SORTED),
        K(ST_P), K(ST_PEND), K(ST_O), K(ST_MODE), K(ST_REC), K(ST_REC_END), K(ST_BODY_END),
        K(ST_HDR_O), K(ST_MEASURED), K(ST_MQ), K(ST_OP_A), K(ST_OP_B), K(ST_ERR_AT),
        K(ST_ERR_TAG), K(ST_TRUNC_AT), K(ST_MISSING), K(ST_ENDED), K(ST_CURSOR),
        K(ST_ARRAYS_EMPTIED), K(ST_BYTES_REMOVED), K(ST_ARRAYS_FILLED), K(ST_BYTES_ADDED),
        K(ST_INSTANCES_ZEROED), K(ST_CLASSES_ZEROED), K(ST_RECORDS_RESIZED), K(ST_LAST_CLASS),
        K(ST_LAST_SLOT), K(N_STATE), K(MODE_TOP), K(MODE_BUFFERED), K(MODE_MEASURE),
        K(MODE_STREAM), K(RET_DONE), K(RET_PAUSE), K(RET_FLUSH), K(RET_RAW), K(RET_ZEROS),
        K(RET_ERROR), K(EDIT_NONE), K(EDIT_EMPTY_ARRAY), K(EDIT_FILL_ARRAY), K(EDIT_ZERO_FIELDS),
        K(EDIT_ZERO_STATICS),
        K(SV_P), K(SV_REC_END), K(SV_HEAP_STARTED), K(SV_HEAP_RECORDS), K(SV_N_MATCH),
        K(SV_N_LC), K(SV_N_CLS), K(SV_N_FIELDS), K(SV_N_TARGETS), K(SV_N_MARKS), K(SV_N_NAMES),
        K(SV_RESOLVED), K(SV_EARLY), K(SV_LATE), K(SV_TRUNC_AT), K(SV_MISSING), K(SV_ERR_AT),
        K(SV_STRING_MARKS), K(SV_BITMAP_MARKS), K(SV_THREAD_NAMES), K(SV_GROW), K(N_SV),
        K(R_DONE), K(R_PAUSE), K(R_GROW), K(R_MARKS), K(R_ERROR), K(R_RESOLVE),
        K(GROW_MATCH), K(GROW_LC), K(GROW_CLASSES), K(GROW_TARGETS), K(TARGET_STRING),
        K(TARGET_BITMAP), K(TARGET_THREAD), K(OFFSET_UNKNOWN), K(OFFSET_NONE), K(NAME_VALUE),
        K(NAME_MBUFFER), K(NAME_THREAD_NAME), K(SEEN_BITS),
    };
#undef K
    PyObject *table = PyDict_New();
    if (table == NULL || PyModule_AddObject(m, "CONSTANTS", table) < 0) {
        Py_XDECREF(table);
        Py_DECREF(m);
        return NULL;
    }
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
        PyObject *v = PyLong_FromLongLong(constants[i].value);
        if (v == NULL || PyDict_SetItemString(table, constants[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(m);
            return NULL;
        }
        Py_DECREF(v);
    }
    return m;
}
