/* The packed container's transform: HPROF bytes <-> ten separately compressible streams.
 *
 * Why: a HotSpot dump is mostly object records whose bytes are addresses (ids), and zstd sees
 * them interleaved with counts, serials and field values, so it finds little to squeeze (a
 * stripped 250 MB dump compresses to 1/5). Split by meaning, each part is predictable:
 * objects come in address order, so an object's id is the previous id plus the previous
 * object's size (a delta of 0 most of the time); the same few classes repeat; references point
 * near the object that holds them; an instance's length is its class's length. Each kind of
 * value goes to its own stream, as a small number where it can be predicted, and zstd then
 * compresses each stream on its own (see pack.py for the file layout).
 *
 * The transform is lossless for ANY input bytes, not only well-formed HPROF: whatever the packer
 * cannot read as a record goes through as raw bytes (RAW op), so unpack(pack(x)) == x always.
 * The unpacker reads untrusted files: every read is checked against its stream's end, every code
 * is validated, and it writes into the caller's buffer with its room checked.
 *
 * Both sides work in pieces so memory stays bounded: the packer stops when a stream is nearly
 * full (the Python driver compresses and writes the streams as one frame, then calls again); the
 * unpacker stops when its output buffer is full or the frame's streams are used up. Long
 * payloads (a raw span, a primitive array's elements, an object array's elements) are the only
 * items that continue across frames ("pending" state on both sides).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hprof_format.h"

enum { S_OP, S_OTHER, S_LEN, S_ID, S_SERIAL, S_CLASS, S_FLAG, S_REF, S_PRIM, S_PAYLOAD, N_STREAMS };

/* Ops in S_OP: sub-record tags stand for themselves; these two are not HPROF sub-record tags. */
#define OP_RECORD 0xF0 /* a top-level record header (9 bytes in S_OTHER); non-heap: body follows raw */
#define OP_RAW 0xF1    /* a length in S_LEN, then that many bytes from S_OTHER, verbatim */


#define STREAM_CAPACITY (2u << 20)
#define ITEM_ROOM (320u << 10) /* the most one non-pending item writes to any stream */
#define INSTANCE_MAX (32u << 10) /* bigger instance records go through as RAW */
#define CLASS_MAX (1u << 20)     /* distinct class ids remembered; more are written in full */
#define UNPACK_ITEM_OUT (INSTANCE_MAX + 64) /* the most one non-pending item writes to the output */

/* Reference codes (varints): even = aligned delta from a base, 1 = raw id follows, 3 = null. */
#define REF_RAW 1
#define REF_NULL 3

/* Field words of an instance (S_FLAG): */
#define WORD_ZERO 0
#define WORD_REF 1
#define WORD_RAW 2

enum { PEND_NONE, PEND_RAW, PEND_PAYLOAD, PEND_REFS };

static uint64_t get_id(const uint8_t *p, int id_size) {
    uint64_t v = 0;
    for (int i = 0; i < id_size; i++) v = (v << 8) | p[i];
    return v;
}

static void put_id(uint8_t *p, uint64_t v, int id_size) {
    for (int i = id_size - 1; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}

static uint64_t id_mask(int id_size) { return id_size == 8 ? ~(uint64_t)0 : 0xFFFFFFFFu; }

/* A guess at the object's size in the heap, to predict the next object's address. */
static uint64_t predicted_size(uint64_t payload) { return (16 + payload + 7) & ~(uint64_t)7; }

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

/* -- streams ------------------------------------------------------------------------------- */
typedef struct {
    uint8_t *data;
    size_t len, cap; /* packer: bytes written; unpacker: bytes held */
    size_t pos;      /* unpacker: bytes read */
} Stream;

static void put_varint(Stream *s, uint64_t v) {
    while (v >= 0x80) { s->data[s->len++] = (uint8_t)(v | 0x80); v >>= 7; }
    s->data[s->len++] = (uint8_t)v;
}

static void put_bytes(Stream *s, const uint8_t *p, size_t n) {
    memcpy(s->data + s->len, p, n);
    s->len += n;
}

static int get_varint(Stream *s, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (s->pos >= s->len) return -1;
        uint8_t b = s->data[s->pos++];
        if (shift == 63 && b > 1) return -1;
        r |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) { *v = r; return 0; }
    }
    return -1;
}

static int get_bytes(Stream *s, uint8_t *out, size_t n) {
    if (s->len - s->pos < n) return -1;
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
    return 0;
}

/* A reference as a code relative to base (see REF_*): the decoder gets it back exactly. */
static void put_ref(Stream *s, uint64_t v, uint64_t base, int id_size) {
    if (v == 0) { put_varint(s, REF_NULL); return; }
    int64_t d = (int64_t)(v - base);
    if (id_size == 4) d = (int64_t)(int32_t)(uint32_t)d; /* wraps like the decoder's mask */
    if ((d & 7) == 0 && d > -((int64_t)1 << 59) && d < ((int64_t)1 << 59)) {
        put_varint(s, zigzag(d >> 3) << 1);
        return;
    }
    put_varint(s, REF_RAW);
    uint8_t raw[8];
    put_id(raw, v, id_size);
    put_bytes(s, raw, (size_t)id_size);
}

static int get_ref(Stream *s, uint64_t base, int id_size, uint64_t *v) {
    uint64_t code;
    if (get_varint(s, &code)) return -1;
    if (code == REF_NULL) { *v = 0; return 0; }
    if (code == REF_RAW) {
        uint8_t raw[8];
        if (get_bytes(s, raw, (size_t)id_size)) return -1;
        *v = get_id(raw, id_size);
        return 0;
    }
    if (code & 1) return -1;
    *v = (base + ((uint64_t)unzigzag(code >> 1) << 3)) & id_mask(id_size);
    return 0;
}

/* -- class table: class id -> small index, and each class's last instance length ------------ */
typedef struct {
    uint64_t *ids;     /* by index */
    int64_t *last_len; /* by index, -1 before the first instance */
    size_t count, cap;
    int64_t *slots; /* packer only: open addressing, index + 1, 0 = empty */
    size_t nslots;
} ClassTable;

static void classes_free(ClassTable *t) {
    free(t->ids); free(t->last_len); free(t->slots);
    memset(t, 0, sizeof *t);
}

static size_t slot_of(uint64_t id, size_t nslots) {
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (nslots - 1);
}

/* Index of id, -1 if unknown; with add, adds it (-2 if out of memory, -1 if the table is full). */
static int64_t classes_find(ClassTable *t, uint64_t id, int add, int hashed) {
    if (hashed && t->nslots) {
        for (size_t s = slot_of(id, t->nslots);; s = (s + 1) & (t->nslots - 1)) {
            if (t->slots[s] == 0) break;
            if (t->ids[t->slots[s] - 1] == id) return t->slots[s] - 1;
        }
    }
    if (!add || t->count >= CLASS_MAX) return -1;
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        uint64_t *ids = realloc(t->ids, cap * sizeof *ids);
        if (!ids) return -2;
        t->ids = ids;
        int64_t *lens = realloc(t->last_len, cap * sizeof *lens);
        if (!lens) return -2;
        t->last_len = lens;
        t->cap = cap;
    }
    if (hashed && 2 * (t->count + 1) > t->nslots) { /* keep the load under one half */
        size_t n = t->nslots ? 2 * t->nslots : 4096;
        int64_t *slots = calloc(n, sizeof *slots);
        if (!slots) return -2;
        for (size_t i = 0; i < t->count; i++) {
            size_t s = slot_of(t->ids[i], n);
            while (slots[s]) s = (s + 1) & (n - 1);
            slots[s] = (int64_t)i + 1;
        }
        free(t->slots);
        t->slots = slots;
        t->nslots = n;
    }
    size_t k = t->count++;
    t->ids[k] = id;
    t->last_len[k] = -1;
    if (hashed) {
        size_t s = slot_of(id, t->nslots);
        while (t->slots[s]) s = (s + 1) & (t->nslots - 1);
        t->slots[s] = (int64_t)k + 1;
    }
    return (int64_t)k;
}

/* -- shared state ----------------------------------------------------------------------------- */
typedef struct {
    int id_size;
    Stream s[N_STREAMS];
    ClassTable classes;
    uint64_t prev_id, pred; /* the next object's id is predicted as prev_id + pred */
    int pend;               /* PEND_*: an item continuing across frames */
    uint64_t pend_left;     /* bytes (raw, payload) or elements (refs) */
    uint64_t pend_base;     /* refs: the previous non-null element */
    /* packer only */
    uint64_t p, heap_limit, start; /* input cursor; end of the heap record's sub-records (0: top) */
    int started;
    /* unpacker only */
    int frames; /* frames fed */
} Coder;

static void coder_free(PyObject *capsule) {
    Coder *c = PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule));
    if (!c) return;
    for (int i = 0; i < N_STREAMS; i++) free(c->s[i].data);
    classes_free(&c->classes);
    free(c);
}

static PyObject *coder_new(int id_size, const char *name, int allocate) {
    if (id_size != 4 && id_size != 8) {
        PyErr_SetString(PyExc_ValueError, "identifier size must be 4 or 8");
        return NULL;
    }
    Coder *c = calloc(1, sizeof *c);
    if (!c) return PyErr_NoMemory();
    c->id_size = id_size;
    for (int i = 0; allocate && i < N_STREAMS; i++) {
        c->s[i].data = malloc(STREAM_CAPACITY); /* pages become resident only when written */
        c->s[i].cap = STREAM_CAPACITY;
        if (!c->s[i].data) {
            for (int j = 0; j < i; j++) free(c->s[j].data);
            free(c);
            return PyErr_NoMemory();
        }
    }
    PyObject *capsule = PyCapsule_New(c, name, coder_free);
    if (!capsule) {
        for (int i = 0; i < N_STREAMS; i++) free(c->s[i].data);
        free(c);
    }
    return capsule;
}

/* ============================================================================================
 * packer
 * ========================================================================================== */
#define PACKER "oomlens.packer"

static int room_for_item(const Coder *c) {
    for (int i = 0; i < N_STREAMS; i++)
        if (c->s[i].cap - c->s[i].len < ITEM_ROOM) return 0;
    return 1;
}

static void start_raw(Coder *c, uint64_t n) {
    c->s[S_OP].data[c->s[S_OP].len++] = OP_RAW;
    put_varint(&c->s[S_LEN], n);
    c->pend = PEND_RAW;
    c->pend_left = n;
}

static void put_object_header(Coder *c, const uint8_t *b, uint64_t payload_bytes) {
    int I = c->id_size;
    uint64_t id = get_id(b + 1, I);
    put_ref(&c->s[S_ID], id, (c->prev_id + c->pred) & id_mask(I), I);
    c->prev_id = id;
    c->pred = predicted_size(payload_bytes);
    put_bytes(&c->s[S_SERIAL], b + 1 + I, 4);
}

/* Class code in S_CLASS: 0 + the id in full for a class not seen before, else its index + 1. */
static int put_class(Coder *c, uint64_t class_id, int64_t *index) {
    int64_t k = classes_find(&c->classes, class_id, 0, 1);
    if (k >= 0) {
        put_varint(&c->s[S_CLASS], (uint64_t)k + 1);
    } else {
        put_varint(&c->s[S_CLASS], 0);
        uint8_t raw[8];
        put_id(raw, class_id, c->id_size);
        put_bytes(&c->s[S_CLASS], raw, (size_t)c->id_size);
        k = classes_find(&c->classes, class_id, 1, 1);
        if (k == -2) return -1;
    }
    *index = k;
    return 0;
}

static int pack_instance(Coder *c, const uint8_t *b) {
    int I = c->id_size;
    uint32_t n = (uint32_t)read_u4(b, 1 + 2 * I + 4);
    uint64_t oid = get_id(b + 1, I);
    c->s[S_OP].data[c->s[S_OP].len++] = SUB_INSTANCE_DUMP;
    put_object_header(c, b, n);
    int64_t k;
    if (put_class(c, get_id(b + 1 + I + 4, I), &k)) return -1;
    if (k >= 0 && c->classes.last_len[k] == (int64_t)n) {
        put_varint(&c->s[S_LEN], 0);
    } else {
        put_varint(&c->s[S_LEN], (uint64_t)n + 1);
        if (k >= 0) c->classes.last_len[k] = n;
    }
    const uint8_t *d = b + 1 + 2 * I + 8;
    uint32_t words = n / (uint32_t)I;
    for (uint32_t w = 0; w < words; w++, d += I) {
        uint64_t v = get_id(d, I);
        int64_t delta = (int64_t)(v - oid);
        if (I == 4) delta = (int64_t)(int32_t)(uint32_t)delta;
        if (v == 0) {
            c->s[S_FLAG].data[c->s[S_FLAG].len++] = WORD_ZERO;
        } else if ((v & 7) == 0 && delta > -((int64_t)1 << 31) && delta < ((int64_t)1 << 31)) {
            c->s[S_FLAG].data[c->s[S_FLAG].len++] = WORD_REF;
            put_ref(&c->s[S_REF], v, oid, I);
        } else {
            c->s[S_FLAG].data[c->s[S_FLAG].len++] = WORD_RAW;
            put_bytes(&c->s[S_PRIM], d, (size_t)I);
        }
    }
    put_bytes(&c->s[S_PRIM], d, n - words * (uint32_t)I);
    return 0;
}

/* Encode the sub-record at c->p, whose length (measured by sub_record_end) is len. */
static int pack_sub_record(Coder *c, const uint8_t *src, int64_t len) {
    const uint8_t *b = src + c->p;
    int I = c->id_size;
    uint8_t tag = b[0];
    if (tag == SUB_INSTANCE_DUMP) {
        if ((uint64_t)len - (1 + 2 * I + 8) > INSTANCE_MAX) {
            start_raw(c, (uint64_t)len);
            return 0;
        }
        if (pack_instance(c, b)) return -1;
    } else if (tag == SUB_OBJECT_ARRAY_DUMP) {
        uint32_t n = (uint32_t)read_u4(b, 1 + I + 4);
        c->s[S_OP].data[c->s[S_OP].len++] = tag;
        put_object_header(c, b, (uint64_t)n * I);
        put_varint(&c->s[S_LEN], n);
        int64_t k;
        if (put_class(c, get_id(b + 1 + I + 8, I), &k)) return -1;
        c->pend = PEND_REFS;
        c->pend_left = n;
        c->pend_base = get_id(b + 1, I);
        c->p += 1 + 2 * (uint64_t)I + 8; /* the elements follow as pending */
        return 0;
    } else if (tag == SUB_PRIMITIVE_ARRAY_DUMP || tag == SUB_PRIMITIVE_ARRAY_NODATA) {
        uint32_t n = (uint32_t)read_u4(b, 1 + I + 4);
        uint64_t bytes = (uint64_t)n * basic_type_size(b[1 + I + 8], I);
        c->s[S_OP].data[c->s[S_OP].len++] = tag;
        put_object_header(c, b, bytes);
        put_varint(&c->s[S_LEN], n);
        put_bytes(&c->s[S_SERIAL], b + 1 + I + 8, 1); /* element type */
        c->p += 1 + (uint64_t)I + 9;
        if (tag == SUB_PRIMITIVE_ARRAY_DUMP) {
            c->pend = PEND_PAYLOAD;
            c->pend_left = bytes;
        }
        return 0;
    } else { /* roots, class dumps, heap info: the tag, then the rest verbatim */
        c->s[S_OP].data[c->s[S_OP].len++] = tag;
        put_varint(&c->s[S_LEN], (uint64_t)len - 1);
        c->p += 1;
        c->pend = PEND_RAW;
        c->pend_left = (uint64_t)len - 1;
        return 0;
    }
    c->p += (uint64_t)len;
    return 0;
}

/* Continue the pending item as far as its stream has room; 1 when it is done. */
static int pack_pending(Coder *c, const uint8_t *src) {
    if (c->pend == PEND_RAW || c->pend == PEND_PAYLOAD) {
        Stream *s = &c->s[c->pend == PEND_RAW ? S_OTHER : S_PAYLOAD];
        uint64_t n = s->cap - s->len;
        if (n > c->pend_left) n = c->pend_left;
        put_bytes(s, src + c->p, (size_t)n);
        c->p += n;
        c->pend_left -= n;
    } else if (c->pend == PEND_REFS) {
        Stream *s = &c->s[S_REF];
        int I = c->id_size;
        while (c->pend_left && s->cap - s->len >= 32) {
            uint64_t v = get_id(src + c->p, I);
            put_ref(s, v, c->pend_base, I);
            if (v) c->pend_base = v;
            c->p += (uint64_t)I;
            c->pend_left--;
        }
    }
    if (c->pend_left) return 0;
    c->pend = PEND_NONE;
    return 1;
}

/* Encode from c->p until a stream is nearly full (returns 1) or the input ends (returns 0). */
static int pack_run(Coder *c, const uint8_t *src, uint64_t size) {
    int I = c->id_size;
    if (!c->started) {
        c->started = 1;
        c->p = 0;
        if (c->start > size) c->start = size;
        if (c->start) start_raw(c, c->start); /* the file header */
    }
    for (;;) {
        if (c->pend != PEND_NONE && !pack_pending(c, src)) return 1;
        if (!room_for_item(c)) return 1;
        uint64_t p = c->p;
        if (c->heap_limit) { /* inside a heap dump record */
            if (p >= c->heap_limit) {
                c->heap_limit = 0;
                continue;
            }
            int64_t q = sub_record_end(src, (int64_t)p, (int64_t)c->heap_limit, I);
            int64_t len = q < 0 ? q : q - (int64_t)p;
            if (len < 0) { /* unreadable: the rest of the record goes through verbatim */
                start_raw(c, c->heap_limit - p);
                c->heap_limit = 0;
                continue;
            }
            if (pack_sub_record(c, src, len)) return -1;
            continue;
        }
        if (p >= size) return 0;
        if (size - p < 9) {
            start_raw(c, size - p);
            continue;
        }
        uint8_t tag = src[p];
        uint64_t end = p + 9 + (uint32_t)read_u4(src, p + 5);
        int heap = tag == TAG_HEAP_DUMP || tag == TAG_HEAP_DUMP_SEGMENT;
        if (end > size && !heap) {
            start_raw(c, size - p);
            continue;
        }
        c->s[S_OP].data[c->s[S_OP].len++] = OP_RECORD;
        put_bytes(&c->s[S_OTHER], src + p, 9);
        c->p = p + 9;
        if (heap) {
            c->heap_limit = end < size ? end : size;
            if (c->heap_limit == c->p) c->heap_limit = 0;
        } else {
            c->pend = PEND_RAW;
            c->pend_left = end - c->p;
        }
    }
}

static PyObject *packer_new(PyObject *self, PyObject *args) {
    int id_size;
    unsigned long long start;
    if (!PyArg_ParseTuple(args, "iK", &id_size, &start)) return NULL;
    PyObject *capsule = coder_new(id_size, PACKER, 1);
    if (capsule) ((Coder *)PyCapsule_GetPointer(capsule, PACKER))->start = start;
    return capsule;
}

/* pack(packer, src) -> (streams as a tuple of bytes, done): one frame's worth. */
static PyObject *pack(PyObject *self, PyObject *args) {
    PyObject *capsule;
    Py_buffer src;
    if (!PyArg_ParseTuple(args, "Oy*", &capsule, &src)) return NULL;
    Coder *c = PyCapsule_GetPointer(capsule, PACKER);
    if (!c) { PyBuffer_Release(&src); return NULL; }
    for (int i = 0; i < N_STREAMS; i++) c->s[i].len = 0;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = pack_run(c, src.buf, (uint64_t)src.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    if (r < 0) return PyErr_NoMemory();
    /* Views of the packer's own buffers, not copies: valid until the next pack() call. */
    PyObject *streams = PyTuple_New(N_STREAMS);
    if (!streams) return NULL;
    for (int i = 0; i < N_STREAMS; i++) {
        PyObject *b = PyMemoryView_FromMemory((char *)c->s[i].data, (Py_ssize_t)c->s[i].len,
                                              PyBUF_READ);
        if (!b) { Py_DECREF(streams); return NULL; }
        PyTuple_SET_ITEM(streams, i, b);
    }
    return Py_BuildValue("(NOK)", streams, r ? Py_False : Py_True, (unsigned long long)c->p);
}

/* ============================================================================================
 * unpacker
 * ========================================================================================== */
#define UNPACKER "oomlens.unpacker"

enum { U_CORRUPT = -1, U_FRAME_DONE = 0, U_OUT_FULL = 1 };

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} Out;

static int unpack_object_header(Coder *c, uint8_t *o) {
    int I = c->id_size;
    uint64_t id;
    if (get_ref(&c->s[S_ID], (c->prev_id + c->pred) & id_mask(I), I, &id)) return -1;
    put_id(o + 1, id, I);
    c->prev_id = id;
    return get_bytes(&c->s[S_SERIAL], o + 1 + I, 4);
}

static int unpack_class(Coder *c, uint8_t *o, int64_t *index) {
    uint64_t code, id;
    if (get_varint(&c->s[S_CLASS], &code)) return -1;
    if (code == 0) {
        uint8_t raw[8];
        if (get_bytes(&c->s[S_CLASS], raw, (size_t)c->id_size)) return -1;
        id = get_id(raw, c->id_size);
        *index = classes_find(&c->classes, id, 1, 0);
        if (*index == -2) return -2;
    } else {
        if (code - 1 >= c->classes.count) return -1;
        *index = (int64_t)(code - 1);
        id = c->classes.ids[*index];
    }
    put_id(o, id, c->id_size);
    return 0;
}

static int unpack_instance(Coder *c, Out *out) {
    int I = c->id_size;
    uint8_t *o = out->buf + out->len;
    o[0] = SUB_INSTANCE_DUMP;
    if (unpack_object_header(c, o)) return -1;
    int64_t k;
    int r = unpack_class(c, o + 1 + I + 4, &k);
    if (r) return r;
    uint64_t code, n;
    if (get_varint(&c->s[S_LEN], &code)) return -1;
    if (code == 0) {
        if (k < 0 || c->classes.last_len[k] < 0) return -1;
        n = (uint64_t)c->classes.last_len[k];
    } else {
        n = code - 1;
        if (n > INSTANCE_MAX) return -1;
        if (k >= 0) c->classes.last_len[k] = (int64_t)n;
    }
    c->pred = predicted_size(n);
    uint64_t oid = get_id(o + 1, I);
    o[1 + 2 * I + 4] = (uint8_t)(n >> 24); o[1 + 2 * I + 5] = (uint8_t)(n >> 16);
    o[1 + 2 * I + 6] = (uint8_t)(n >> 8);  o[1 + 2 * I + 7] = (uint8_t)n;
    uint8_t *d = o + 1 + 2 * I + 8;
    uint64_t words = n / (uint64_t)I;
    Stream *flags = &c->s[S_FLAG];
    if (flags->len - flags->pos < words) return -1;
    for (uint64_t w = 0; w < words; w++, d += I) {
        uint8_t kind = flags->data[flags->pos++];
        if (kind == WORD_ZERO) {
            memset(d, 0, (size_t)I);
        } else if (kind == WORD_REF) {
            uint64_t v;
            if (get_ref(&c->s[S_REF], oid, I, &v)) return -1;
            put_id(d, v, I);
        } else if (kind == WORD_RAW) {
            if (get_bytes(&c->s[S_PRIM], d, (size_t)I)) return -1;
        } else {
            return -1;
        }
    }
    if (get_bytes(&c->s[S_PRIM], d, n - words * (uint64_t)I)) return -1;
    out->len += 1 + 2 * (size_t)I + 8 + n;
    return 0;
}

/* Decode one op (not pending): 0, -1 corrupt, -2 out of memory. */
static int unpack_item(Coder *c, Out *out, uint8_t op) {
    int I = c->id_size;
    uint8_t *o = out->buf + out->len;
    uint64_t n;
    switch (op) {
    case OP_RECORD:
        if (get_bytes(&c->s[S_OTHER], o, 9)) return -1;
        out->len += 9;
        if (o[0] != TAG_HEAP_DUMP && o[0] != TAG_HEAP_DUMP_SEGMENT) {
            c->pend = PEND_RAW;
            c->pend_left = (uint32_t)read_u4(o, 5);
        }
        return 0;
    case OP_RAW:
        if (get_varint(&c->s[S_LEN], &n)) return -1;
        c->pend = PEND_RAW;
        c->pend_left = n;
        return 0;
    case SUB_INSTANCE_DUMP:
        return unpack_instance(c, out);
    case SUB_OBJECT_ARRAY_DUMP: {
        o[0] = op;
        if (unpack_object_header(c, o)) return -1;
        if (get_varint(&c->s[S_LEN], &n) || n > 0xFFFFFFFFu) return -1;
        c->pred = predicted_size(n * I);
        o[1 + I + 4] = (uint8_t)(n >> 24); o[1 + I + 5] = (uint8_t)(n >> 16);
        o[1 + I + 6] = (uint8_t)(n >> 8);  o[1 + I + 7] = (uint8_t)n;
        int64_t k;
        int r = unpack_class(c, o + 1 + I + 8, &k);
        if (r) return r;
        out->len += 1 + 2 * (size_t)I + 8;
        c->pend = PEND_REFS;
        c->pend_left = n;
        c->pend_base = get_id(o + 1, I);
        return 0;
    }
    case SUB_PRIMITIVE_ARRAY_DUMP: case SUB_PRIMITIVE_ARRAY_NODATA: {
        o[0] = op;
        if (unpack_object_header(c, o)) return -1;
        if (get_varint(&c->s[S_LEN], &n) || n > 0xFFFFFFFFu) return -1;
        o[1 + I + 4] = (uint8_t)(n >> 24); o[1 + I + 5] = (uint8_t)(n >> 16);
        o[1 + I + 6] = (uint8_t)(n >> 8);  o[1 + I + 7] = (uint8_t)n;
        if (get_bytes(&c->s[S_SERIAL], o + 1 + I + 8, 1)) return -1;
        int size = basic_type_size(o[1 + I + 8], I);
        if (size < 0 || o[1 + I + 8] == 2) return -1;
        c->pred = predicted_size(n * (uint64_t)size);
        out->len += 1 + (size_t)I + 9;
        if (op == SUB_PRIMITIVE_ARRAY_DUMP) {
            c->pend = PEND_PAYLOAD;
            c->pend_left = n * (uint64_t)size;
        }
        return 0;
    }
    default: /* another sub-record: its tag, then its bytes verbatim */
        if (get_varint(&c->s[S_LEN], &n)) return -1;
        o[0] = op;
        out->len += 1;
        c->pend = PEND_RAW;
        c->pend_left = n;
        return 0;
    }
}

/* Copy the pending item on as far as its stream and the output allow. */
static void unpack_pending(Coder *c, Out *out) {
    if (c->pend == PEND_RAW || c->pend == PEND_PAYLOAD) {
        Stream *s = &c->s[c->pend == PEND_RAW ? S_OTHER : S_PAYLOAD];
        uint64_t n = c->pend_left;
        if (n > s->len - s->pos) n = s->len - s->pos;
        if (n > out->cap - out->len) n = out->cap - out->len;
        memcpy(out->buf + out->len, s->data + s->pos, (size_t)n);
        s->pos += n;
        out->len += n;
        c->pend_left -= n;
    } else if (c->pend == PEND_REFS) {
        int I = c->id_size;
        Stream *s = &c->s[S_REF];
        while (c->pend_left && out->cap - out->len >= (size_t)I && s->pos < s->len) {
            uint64_t v;
            size_t at = s->pos;
            if (get_ref(s, c->pend_base, I, &v)) { s->pos = at; return; }
            put_id(out->buf + out->len, v, I);
            out->len += (size_t)I;
            if (v) c->pend_base = v;
            c->pend_left--;
        }
    }
    if (c->pend_left == 0) c->pend = PEND_NONE;
}

static int unpack_run(Coder *c, Out *out) {
    for (;;) {
        if (c->pend != PEND_NONE) {
            unpack_pending(c, out);
            if (c->pend != PEND_NONE) {
                if (out->cap - out->len < 64) return U_OUT_FULL;
                return U_FRAME_DONE; /* its stream is used up: it goes on in the next frame */
            }
        }
        Stream *ops = &c->s[S_OP];
        if (ops->pos >= ops->len) return U_FRAME_DONE;
        if (out->cap - out->len < UNPACK_ITEM_OUT) return U_OUT_FULL;
        int r = unpack_item(c, out, ops->data[ops->pos++]);
        if (r == -2) return -2;
        if (r) return U_CORRUPT;
    }
}

static PyObject *unpacker_new(PyObject *self, PyObject *args) {
    int id_size;
    if (!PyArg_ParseTuple(args, "i", &id_size)) return NULL;
    return coder_new(id_size, UNPACKER, 0);
}

/* feed(unpacker, streams): the next frame's decompressed streams (the previous must be used up). */
static PyObject *feed(PyObject *self, PyObject *args) {
    PyObject *capsule, *streams;
    if (!PyArg_ParseTuple(args, "OO!", &capsule, &PyTuple_Type, &streams)) return NULL;
    Coder *c = PyCapsule_GetPointer(capsule, UNPACKER);
    if (!c) return NULL;
    if (PyTuple_GET_SIZE(streams) != N_STREAMS) {
        PyErr_SetString(PyExc_ValueError, "wrong number of streams");
        return NULL;
    }
    for (int i = 0; i < N_STREAMS; i++) {
        char *data;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(streams, i), &data, &len)) return NULL;
        if ((size_t)len > c->s[i].cap) {
            uint8_t *grown = realloc(c->s[i].data, (size_t)len);
            if (!grown && len) return PyErr_NoMemory();
            c->s[i].data = grown;
            c->s[i].cap = (size_t)len;
        }
        memcpy(c->s[i].data, data, (size_t)len);
        c->s[i].len = (size_t)len;
        c->s[i].pos = 0;
    }
    c->frames++;
    Py_RETURN_NONE;
}

/* unpack(unpacker, out) -> (bytes written, status): status 1 = out is full, call again;
 * 0 = the frame is used up (feed the next); -1 = corrupt. */
static PyObject *unpack(PyObject *self, PyObject *args) {
    PyObject *capsule;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "Ow*", &capsule, &buf)) return NULL;
    Coder *c = PyCapsule_GetPointer(capsule, UNPACKER);
    if (!c) { PyBuffer_Release(&buf); return NULL; }
    if ((size_t)buf.len < 2 * UNPACK_ITEM_OUT) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "output buffer too small");
        return NULL;
    }
    Out out = {buf.buf, 0, (size_t)buf.len};
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = unpack_run(c, &out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    if (r == -2) return PyErr_NoMemory();
    return Py_BuildValue("(ni)", (Py_ssize_t)out.len, r);
}

/* leftover(unpacker) -> (unread bytes in the frame's streams, an item still pending) */
static PyObject *leftover(PyObject *self, PyObject *args) {
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "O", &capsule)) return NULL;
    Coder *c = PyCapsule_GetPointer(capsule, UNPACKER);
    if (!c) return NULL;
    unsigned long long unread = 0;
    for (int i = 0; i < N_STREAMS; i++) unread += c->s[i].len - c->s[i].pos;
    return Py_BuildValue("(KO)", unread, c->pend != PEND_NONE ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"packer", packer_new, METH_VARARGS, "packer(id_size, header_length) -> packer state"},
    {"pack", pack, METH_VARARGS, "pack(packer, src) -> (views of the streams, valid until the next call; done; input offset)"},
    {"unpacker", unpacker_new, METH_VARARGS, "unpacker(id_size) -> unpacker state"},
    {"feed", feed, METH_VARARGS, "feed(unpacker, streams): the next frame's streams"},
    {"unpack", unpack, METH_VARARGS, "unpack(unpacker, out) -> (bytes written, status)"},
    {"leftover", leftover, METH_VARARGS, "leftover(unpacker) -> (unread bytes, pending)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef pack_module = {
    PyModuleDef_HEAD_INIT, "_pack", "HPROF <-> split streams (see pack.py)", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pack(void) {
    PyObject *m = PyModule_Create(&pack_module);
    if (m) PyModule_AddIntConstant(m, "N_STREAMS", N_STREAMS);
    return m;
}
