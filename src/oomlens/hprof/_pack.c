#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef pack_module = {PyModuleDef_HEAD_INIT, "_pack", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__pack(void) { return PyModule_Create(&pack_module); }
