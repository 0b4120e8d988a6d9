/* The HPROF record structure, shared by the C extensions (_rewrite.c, _pack.c): constants,
 * big-endian readers, and sub-record lengths measured against the end of the bytes that hold
 * them (the dump is untrusted; nothing reads a sub-record before sub_record_end has measured
 * it). Mirrors hprof/constants.py and the Numba readers in hprof/scan.py. */
#ifndef OOMLENS_HPROF_FORMAT_H
#define OOMLENS_HPROF_FORMAT_H

#include <stdint.h>

/* -- HPROF (constants.py) ------------------------------------------------------------------- */
#define RECORD_HEADER_SIZE 9
#define TAG_STRING 0x01
#define TAG_LOAD_CLASS 0x02
#define TAG_HEAP_DUMP 0x0C
#define TAG_HEAP_DUMP_SEGMENT 0x1C

#define SUB_CLASS_DUMP 0x20
#define SUB_INSTANCE_DUMP 0x21
#define SUB_OBJECT_ARRAY_DUMP 0x22
#define SUB_PRIMITIVE_ARRAY_DUMP 0x23
#define SUB_PRIMITIVE_ARRAY_NODATA 0xC3
#define SUB_HEAP_DUMP_INFO 0xFE

#define TYPE_OBJECT 2

/* -- reading the dump ------------------------------------------------------------------------ */
static inline int64_t read_u2(const uint8_t *buf, int64_t p) {
    return ((int64_t)buf[p] << 8) | buf[p + 1];
}

static inline int64_t read_u4(const uint8_t *buf, int64_t p) {
    return ((int64_t)buf[p] << 24) | ((int64_t)buf[p + 1] << 16) | ((int64_t)buf[p + 2] << 8)
           | buf[p + 3];
}

/* An id as the signed 64-bit pattern of its bytes, as scan.read_id: ids only compare for
 * equality and order, and the sorted tables they are looked up in were sorted as int64. */
static inline int64_t read_id(const uint8_t *buf, int64_t p, int id_size) {
    if (id_size == 4) return read_u4(buf, p);
    return (int64_t)(((uint64_t)read_u4(buf, p) << 32) | (uint64_t)read_u4(buf, p + 4));
}

static inline void write_u4(uint8_t *out, int64_t o, int64_t v) {
    out[o] = (uint8_t)(v >> 24);
    out[o + 1] = (uint8_t)(v >> 16);
    out[o + 2] = (uint8_t)(v >> 8);
    out[o + 3] = (uint8_t)v;
}

static inline int basic_type_size(int64_t t, int id_size) {
    switch (t) {
    case TYPE_OBJECT: return id_size;
    case 4: case 8: return 1;   /* boolean, byte */
    case 5: case 9: return 2;   /* char, short */
    case 6: case 10: return 4;  /* float, int */
    case 7: case 11: return 8;  /* double, long */
    default: return -1;
    }
}

/* Bytes after the object id of a GC root sub-record; -1 if ``tag`` is no root. */
static inline int root_extra_bytes(int tag, int id_size) {
    switch (tag) {
    case 0xFF: case 0x05: case 0x07: case 0x89: case 0x8A: case 0x8B: case 0x8C: case 0x8D:
    case 0x90:
        return 0;  /* unknown, sticky class, monitor used, ART/Dalvik extras, unreachable */
    case 0x01: return id_size;  /* JNI global: one more id */
    case 0x02: case 0x03: case 0x08: case 0x8E:
        return 8;  /* JNI local, Java frame, thread object, JNI monitor */
    case 0x04: case 0x06: return 4;  /* native stack, thread block */
    default: return -1;
    }
}

/* Length of the CLASS_DUMP body at ``p`` (after the tag), -1 if it runs past ``end``, -2 if it
 * holds a byte that is no basic type. */
static int64_t class_dump_length(const uint8_t *buf, int64_t p, int64_t end, int id_size) {
    int64_t q = p + 7 * id_size + 8;
    if (q + 2 > end) return -1;
    int64_t n = read_u2(buf, q);
    q += 2;
    for (int64_t i = 0; i < n; i++) {  /* constant pool: u2 index, u1 type, value */
        if (q + 3 > end) return -1;
        int size = basic_type_size(buf[q + 2], id_size);
        if (size < 0) return -2;
        q += 3 + size;
    }
    if (q + 2 > end) return -1;
    n = read_u2(buf, q);
    q += 2;
    for (int64_t i = 0; i < n; i++) {  /* statics: name id, u1 type, value */
        if (q + id_size + 1 > end) return -1;
        int size = basic_type_size(buf[q + id_size], id_size);
        if (size < 0) return -2;
        q += id_size + 1 + size;
    }
    if (q + 2 > end) return -1;
    n = read_u2(buf, q);
    q += 2;
    for (int64_t i = 0; i < n; i++) {  /* instance fields: name id, u1 type */
        if (q + id_size + 1 > end) return -1;
        if (basic_type_size(buf[q + id_size], id_size) < 0) return -2;
        q += id_size + 1;
    }
    if (q > end) return -1;
    return q - p;
}

/* End of the heap dump sub-record at ``p`` (< ``end``): -1 if it runs past ``end``, -2 if its
 * tag or a basic type in it is unknown. Nothing reads a sub-record before this has measured it. */
static inline int64_t sub_record_end(const uint8_t *buf, int64_t p, int64_t end, int id_size) {
    int tag = buf[p];
    int64_t q = p + 1;
    int extra = root_extra_bytes(tag, id_size);
    if (extra >= 0) {
        q += id_size + extra;
    } else if (tag == SUB_INSTANCE_DUMP) {
        if (q + 2 * id_size + 8 > end) return -1;
        q += 2 * id_size + 8 + read_u4(buf, q + 2 * id_size + 4);
    } else if (tag == SUB_OBJECT_ARRAY_DUMP) {
        if (q + 2 * id_size + 8 > end) return -1;
        q += 2 * id_size + 8 + read_u4(buf, q + id_size + 4) * id_size;
    } else if (tag == SUB_PRIMITIVE_ARRAY_DUMP || tag == SUB_PRIMITIVE_ARRAY_NODATA) {
        if (q + id_size + 9 > end) return -1;
        int elem = buf[q + id_size + 8];
        int size = basic_type_size(elem, id_size);
        if (size < 0 || elem == TYPE_OBJECT) return -2;
        q += id_size + 9;
        if (tag == SUB_PRIMITIVE_ARRAY_DUMP) q += read_u4(buf, q - 5) * size;
    } else if (tag == SUB_CLASS_DUMP) {
        int64_t n = class_dump_length(buf, q, end, id_size);
        if (n < 0) return n;
        q += n;
    } else if (tag == SUB_HEAP_DUMP_INFO) {
        q += 4 + id_size;
    } else {
        return -2;
    }
    return q <= end ? q : -1;
}

static inline int is_heap_record(int tag) {
    return tag == TAG_HEAP_DUMP || tag == TAG_HEAP_DUMP_SEGMENT;
}

#endif
