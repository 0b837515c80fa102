/* A record's __init__ in C: stores its arguments straight into the instance's slots (and
 * the same for the parser's tokens, a str subclass with slots).
 *
 * placer.records generates each record class's __init__ in Python. A frozen record's
 * __setattr__ refuses every assignment, so that __init__ stores each field by calling the
 * slot's descriptor (`Cls.field.__set__(self, value)`): a Python frame plus one
 * method-wrapper call per field, each of which packs its arguments into a tuple. The
 * parser builds hundreds of thousands of records per second of input, and that was a
 * fifth of a parse. `make_init` returns an object that does the common call (arguments
 * by position or by name, defaults filled in) with one C loop over the slots, and hands
 * every other call (a missing, unknown or repeated argument, an instance of another
 * class) to the generated Python __init__, which binds or refuses it with Python's own
 * errors. setup.py builds this module where it builds the mypyc-compiled ones; without
 * it, placer.records uses the Python __init__ alone, with the same results.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* A record with more fields keeps the Python __init__ (placer's largest has 21); exported
 * as MAX_FIELDS for placer.records to tell. */
#define MAX_FIELDS 64

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *owner;   /* the record class: instances of anything else fall back */
    Py_ssize_t count;      /* the fields __init__ takes, in order */
    Py_ssize_t positional; /* how many of them may be passed by position (a prefix) */
    PyObject *names;       /* tuple of str: each field's parameter name */
    PyObject *members;     /* tuple of the fields' slot descriptors */
    PyObject *defaults;    /* tuple: each field's default, or `required` */
    PyObject *required;    /* the marker of a field without a default */
    PyObject *fallback;    /* the generated Python __init__ */
    int immutable;         /* a frozen record: see untrack_if_acyclic */
} RecordInit;

static PyTypeObject RecordInitType;

static PyObject *
record_init_fallback(RecordInit *self, PyObject *const *args, size_t nargsf,
                     PyObject *kwnames)
{
    return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

/* The index of parameter `key`, or -1. Call sites' keywords are usually the very string
 * objects of the names (both interned), so identity is tried first. */
static Py_ssize_t
record_init_index(RecordInit *self, PyObject *key)
{
    for (Py_ssize_t i = 0; i < self->count; i++) {
        if (PyTuple_GET_ITEM(self->names, i) == key) {
            return i;
        }
    }
    for (Py_ssize_t i = 0; i < self->count; i++) {
        int equal = PyObject_RichCompareBool(PyTuple_GET_ITEM(self->names, i), key, Py_EQ);
        if (equal < 0) {
            PyErr_Clear();
            return -1;
        }
        if (equal) {
            return i;
        }
    }
    return -1;
}

static PyObject *record_new(PyObject *, PyObject *const *, size_t, PyObject *);

/* Whether `value` can never be part of a reference cycle, untracking it from the cycle
 * collector if it is a tuple that qualifies: an object of a type without GC (str, int,
 * None, ...), or an untracked tuple or frozen record (both immutable, and untracked only
 * when their items qualified). This is the rule CPython applies to tuples in its own
 * collections, extended to frozen records. `depth` bounds the walk into nested tuples. */
static int
acyclic(PyObject *value, int depth)
{
    if (!PyObject_IS_GC(value)) {
        return 1;
    }
    int tuple = PyTuple_CheckExact(value);
    if (!PyObject_GC_IsTracked(value)) {
        return tuple || Py_TYPE(value)->tp_vectorcall == record_new;
    }
    if (!tuple || depth == 0) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(value); i++) {
        if (!acyclic(PyTuple_GET_ITEM(value, i), depth - 1)) {
            return 0;
        }
    }
    PyObject_GC_UnTrack(value);
    return 1;
}

/* A frozen record whose fields can never lead back to it is taken off the cycle
 * collector's lists: a parsed script is hundreds of thousands of such records (spans,
 * patterns, numbers), and every collection after a parse would otherwise walk them all,
 * to find nothing. Storing into it again through __init__ puts it back when needed; a
 * store that bypasses both __init__ and the frozen __setattr__ (object.__setattr__, as a
 * __post_init__ does) could hide a cycle from the collector, which is why records with a
 * __post_init__ keep the Python __init__ and are never untracked. */
static void
untrack_if_acyclic(PyObject *instance, PyObject *const *values, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!acyclic(values[i], 4)) {
            if (!PyObject_GC_IsTracked(instance)) {
                PyObject_GC_Track(instance);
            }
            return;
        }
    }
    if (PyObject_GC_IsTracked(instance)) {
        PyObject_GC_UnTrack(instance);
    }
}

/* Binds the arguments (`nargs` positional, then one per name in `kwnames`) to the fields
 * and stores them into `instance`: 1 if done, 0 if the call does not bind (the caller
 * hands it to Python, which raises the right error), -1 on an error raised. */
static int
record_init_store(RecordInit *self, PyObject *instance, PyObject *const *args,
                  Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs > self->positional) {
        return 0;
    }
    PyObject *values[MAX_FIELDS];
    Py_ssize_t count = self->count;
    for (Py_ssize_t i = 0; i < count; i++) {
        values[i] = i < nargs ? args[i] : NULL;
    }
    if (kwnames != NULL) {
        Py_ssize_t keywords = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t k = 0; k < keywords; k++) {
            Py_ssize_t i = record_init_index(self, PyTuple_GET_ITEM(kwnames, k));
            if (i < 0 || values[i] != NULL) {
                return 0;
            }
            values[i] = args[nargs + k];
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (values[i] == NULL) {
            values[i] = PyTuple_GET_ITEM(self->defaults, i);
            if (values[i] == self->required) {
                return 0;
            }
        }
    }
    /* Every value is borrowed from the caller's arguments or from `defaults`, which this
     * object holds; both outlive the loop even if replacing an old value runs code. */
    for (Py_ssize_t i = 0; i < count; i++) {
        PyMemberDescrObject *slot = (PyMemberDescrObject *)PyTuple_GET_ITEM(self->members, i);
        if (PyMember_SetOne((char *)instance, slot->d_member, values[i]) < 0) {
            return -1;
        }
    }
    if (self->immutable && Py_TYPE(instance)->tp_vectorcall == record_new) {
        untrack_if_acyclic(instance, values, count);
    }
    return 1;
}

/* args[0] is the instance (the call is `Cls.__init__(self, ...)` or a bound method). */
static PyObject *
record_init_call(RecordInit *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs >= 1 && PyObject_TypeCheck(args[0], self->owner)) {
        int stored = record_init_store(self, args[0], args + 1, nargs - 1, kwnames);
        if (stored < 0) {
            return NULL;
        }
        if (stored) {
            Py_RETURN_NONE;
        }
    }
    return record_init_fallback(self, args, nargsf, kwnames);
}

/* Calling the class the way `type.__call__` does, from a vectorcall's arguments. */
static PyObject *
record_new_slow(PyObject *cls, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *positional = PyTuple_New(nargs);
    if (positional == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(positional, i, Py_NewRef(args[i]));
    }
    PyObject *keywords = NULL;
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) {
        keywords = PyDict_New();
        for (Py_ssize_t k = 0; keywords != NULL && k < PyTuple_GET_SIZE(kwnames); k++) {
            if (PyDict_SetItem(keywords, PyTuple_GET_ITEM(kwnames, k), args[nargs + k]) < 0) {
                Py_CLEAR(keywords);
            }
        }
        if (keywords == NULL) {
            Py_DECREF(positional);
            return NULL;
        }
    }
    PyObject *result = PyType_Type.tp_call(cls, positional, keywords);
    Py_DECREF(positional);
    Py_XDECREF(keywords);
    return result;
}

static PyObject *init_name; /* "__init__", interned */

/* The class's own call (its tp_vectorcall): `type.__call__` packs the arguments into a
 * tuple and a dict, then `__init__`'s call unpacks them again; this allocates the
 * instance as object.__new__ does and stores into it directly. Anything that would make
 * the class's call do more (its __init__ or __new__ replaced, a call that does not bind)
 * takes `type.__call__`. */
static PyObject *
record_new(PyObject *cls, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyTypeObject *type = (PyTypeObject *)cls;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *init = _PyType_Lookup(type, init_name);
    if (init == NULL || Py_TYPE(init) != &RecordInitType
        || ((RecordInit *)init)->owner != type || type->tp_new != PyBaseObject_Type.tp_new
        || PyType_HasFeature(type, Py_TPFLAGS_IS_ABSTRACT)) {
        return record_new_slow(cls, args, nargs, kwnames);
    }
    Py_INCREF(init);
    PyObject *instance = type->tp_alloc(type, 0);
    if (instance == NULL) {
        Py_DECREF(init);
        return NULL;
    }
    int stored = record_init_store((RecordInit *)init, instance, args, nargs, kwnames);
    Py_DECREF(init);
    if (stored > 0) {
        return instance;
    }
    Py_DECREF(instance);
    return stored < 0 ? NULL : record_new_slow(cls, args, nargs, kwnames);
}

/* Bound to an instance like a function is (`instance.__init__`, `super().__init__`). */
static PyObject *
record_init_get(PyObject *self, PyObject *instance, PyObject *owner)
{
    if (instance == NULL || instance == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, instance);
}

/* Introspection (`__name__`, `__doc__`, `__code__`, ...) answers as the Python __init__
 * does; `inspect.signature` follows `__wrapped__` to it. */
static PyObject *
record_init_getattro(RecordInit *self, PyObject *name)
{
    PyObject *found = PyObject_GenericGetAttr((PyObject *)self, name);
    if (found == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        found = PyObject_GetAttr(self->fallback, name);
    }
    return found;
}

static PyObject *
record_init_repr(RecordInit *self)
{
    return PyUnicode_FromFormat("<record __init__ of %s>", self->owner->tp_name);
}

static int
record_init_traverse(RecordInit *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    Py_VISIT(self->names);
    Py_VISIT(self->members);
    Py_VISIT(self->defaults);
    Py_VISIT(self->required);
    Py_VISIT(self->fallback);
    return 0;
}

static int
record_init_clear(RecordInit *self)
{
    Py_CLEAR(self->owner);
    Py_CLEAR(self->names);
    Py_CLEAR(self->members);
    Py_CLEAR(self->defaults);
    Py_CLEAR(self->required);
    Py_CLEAR(self->fallback);
    return 0;
}

static void
record_init_dealloc(RecordInit *self)
{
    PyObject_GC_UnTrack(self);
    record_init_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef record_init_members[] = {
    {"__wrapped__", T_OBJECT, offsetof(RecordInit, fallback), READONLY, NULL},
    {NULL},
};

static PyTypeObject RecordInitType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "placer._recordinit.RecordInit",
    .tp_doc = "A record class's __init__, storing into its slots in C.",
    .tp_basicsize = sizeof(RecordInit),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
                | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_vectorcall_offset = offsetof(RecordInit, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_descr_get = record_init_get,
    .tp_getattro = (getattrofunc)record_init_getattro,
    .tp_repr = (reprfunc)record_init_repr,
    .tp_members = record_init_members,
    .tp_traverse = (traverseproc)record_init_traverse,
    .tp_clear = (inquiry)record_init_clear,
    .tp_dealloc = (destructor)record_init_dealloc,
};

static PyObject *
make_init(PyObject *module, PyObject *args)
{
    PyTypeObject *owner;
    PyObject *names, *members, *defaults, *required, *fallback;
    Py_ssize_t positional;
    int immutable;
    if (!PyArg_ParseTuple(args, "O!O!O!O!nOOp:make_init", &PyType_Type, &owner, &PyTuple_Type,
                          &names, &PyTuple_Type, &members, &PyTuple_Type, &defaults,
                          &positional, &required, &fallback, &immutable)) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (count > MAX_FIELDS) {
        PyErr_Format(PyExc_ValueError, "more than %d fields", MAX_FIELDS);
        return NULL;
    }
    if (PyTuple_GET_SIZE(members) != count || PyTuple_GET_SIZE(defaults) != count
        || positional < 0 || positional > count) {
        PyErr_SetString(PyExc_ValueError, "names, slots, defaults and positional disagree");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *slot = PyTuple_GET_ITEM(members, i);
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))
            || !PyObject_TypeCheck(slot, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)slot)->d_member->type != T_OBJECT_EX
            || !PyType_IsSubtype(owner, PyDescr_TYPE(slot))) {
            PyErr_SetString(PyExc_TypeError, "every field must be an object slot of the class");
            return NULL;
        }
    }
    RecordInit *self = PyObject_GC_New(RecordInit, &RecordInitType);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = (vectorcallfunc)record_init_call;
    self->owner = (PyTypeObject *)Py_NewRef(owner);
    self->count = count;
    self->positional = positional;
    self->names = Py_NewRef(names);
    self->members = Py_NewRef(members);
    self->defaults = Py_NewRef(defaults);
    self->required = Py_NewRef(required);
    self->fallback = Py_NewRef(fallback);
    self->immutable = immutable;
    PyObject_GC_Track(self);
    if (Py_IS_TYPE(owner, &PyType_Type)) {
        /* Never inherited: a subclass is called through type.__call__ as usual. */
        owner->tp_vectorcall = record_new;
    }
    return (PyObject *)self;
}

/* A `str` subclass with slots (the parser's tokens): its text, and a value per slot. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    PyObject *members; /* tuple of the slots' descriptors, in the order of the values */
} StrMaker;

static PyObject *
str_maker_call(StrMaker *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t count = PyTuple_GET_SIZE(self->members);
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) || nargs != count + 1
        || !PyUnicode_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "%s maker takes a str and %zd values by position",
                     self->cls->tp_name, count);
        return NULL;
    }
    /* What str.__new__(cls, text) does: a copy of the text as an instance of cls. */
    PyObject *text = PyTuple_Pack(1, args[0]);
    if (text == NULL) {
        return NULL;
    }
    PyObject *instance = PyUnicode_Type.tp_new(self->cls, text, NULL);
    Py_DECREF(text);
    if (instance == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyMemberDescrObject *slot = (PyMemberDescrObject *)PyTuple_GET_ITEM(self->members, i);
        if (PyMember_SetOne((char *)instance, slot->d_member, args[i + 1]) < 0) {
            Py_DECREF(instance);
            return NULL;
        }
    }
    return instance;
}

static int
str_maker_traverse(StrMaker *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->members);
    return 0;
}

static int
str_maker_clear(StrMaker *self)
{
    Py_CLEAR(self->cls);
    Py_CLEAR(self->members);
    return 0;
}

static void
str_maker_dealloc(StrMaker *self)
{
    PyObject_GC_UnTrack(self);
    str_maker_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject StrMakerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "placer._recordinit.StrMaker",
    .tp_doc = "Makes instances of a str subclass and fills their slots.",
    .tp_basicsize = sizeof(StrMaker),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(StrMaker, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)str_maker_traverse,
    .tp_clear = (inquiry)str_maker_clear,
    .tp_dealloc = (destructor)str_maker_dealloc,
};

static PyObject *
make_str_maker(PyObject *module, PyObject *args)
{
    PyTypeObject *cls;
    PyObject *members;
    if (!PyArg_ParseTuple(args, "O!O!:make_str_maker", &PyType_Type, &cls, &PyTuple_Type,
                          &members)) {
        return NULL;
    }
    if (!PyType_IsSubtype(cls, &PyUnicode_Type) || PyTuple_GET_SIZE(members) > MAX_FIELDS) {
        PyErr_Format(PyExc_TypeError, "a str subclass and at most %d slots", MAX_FIELDS);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(members); i++) {
        PyObject *slot = PyTuple_GET_ITEM(members, i);
        if (!PyObject_TypeCheck(slot, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)slot)->d_member->type != T_OBJECT_EX
            || !PyType_IsSubtype(cls, PyDescr_TYPE(slot))) {
            PyErr_SetString(PyExc_TypeError, "every value must go to an object slot of the class");
            return NULL;
        }
    }
    StrMaker *self = PyObject_GC_New(StrMaker, &StrMakerType);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = (vectorcallfunc)str_maker_call;
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->members = Py_NewRef(members);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyMethodDef module_methods[] = {
    {"make_str_maker", make_str_maker, METH_VARARGS,
     "make_str_maker(cls, slots)\n--\n\n"
     "A function of (text, *values) that makes str(text) an instance of `cls`, a str\n"
     "subclass, and stores each value into the slot of the same place in `slots`."},
    {"make_init", make_init, METH_VARARGS,
     "make_init(cls, names, slots, defaults, positional, required, fallback, frozen)\n--\n\n"
     "The __init__ of record class `cls`: it stores its arguments into the slots `slots`\n"
     "(one per name in `names`; the first `positional` may come by position; `defaults`\n"
     "holds each one's default, or `required`), and hands any other call to `fallback`.\n"
     "An instance of a `frozen` class that no cycle can pass through is left out of the\n"
     "cycle collector."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    .m_name = "placer._recordinit",
    .m_doc = "Record constructors in C (see placer.records).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__recordinit(void)
{
    if (PyType_Ready(&RecordInitType) < 0 || PyType_Ready(&StrMakerType) < 0) {
        return NULL;
    }
    init_name = PyUnicode_InternFromString("__init__");
    if (init_name == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_definition);
    if (module != NULL && PyModule_AddIntConstant(module, "MAX_FIELDS", MAX_FIELDS) < 0) {
        Py_CLEAR(module);
    }
    return module;
}
