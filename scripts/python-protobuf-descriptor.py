"""Completes a pure-Python protobuf runtime built from the protobuf sources
with Debian's protoc 3.21, for scripts/check-python-protobuf.sh. Run with
Debian's python3 (its protobuf 4.21 reads the descriptor set).

    python-protobuf-descriptor.py DESCRIPTOR_SET DESCRIPTOR_PB2_PY \
        UPB_EDITION_DEFAULTS_H DEFAULTS_TEMPLATE DEFAULTS_PY
    python-protobuf-descriptor.py --check    # with the built runtime

protoc 3.21 writes a descriptor_pb2.py that a current pure-Python runtime
cannot load: descriptor.proto gained top-level enums (Edition,
SymbolVisibility) that its pure-Python branch never defines, and current
runtimes resolve editions features for every descriptor, which for
descriptor.proto itself must be precomputed (protoc >= 26 embeds a
`_ResolvedFeatures` per descriptor). This adds both, the way a current protoc
writes them. descriptor.proto is proto2, so every descriptor gets the proto2
features, except LEGACY_REQUIRED for required fields and PACKED for
[packed = true] ones.

It also writes google/protobuf/internal/python_edition_defaults.py, which the
protobuf build makes with `protoc --edition_defaults_out` (Debian's protoc has
no such flag): from the serialized FeatureSetDefaults that protobuf keeps
checked in for upb (upb/reflection/internal/upb_edition_defaults.h), computed
from the same descriptor.proto over the same editions as the Python one (see
compile_edition_defaults in python/build_targets.bzl and upb/reflection/BUILD).
"""

import ast
import re
import sys

from google.protobuf import descriptor_pb2

F = descriptor_pb2.FieldDescriptorProto
PROTO2 = dict(field_presence="EXPLICIT", enum_type="CLOSED", repeated_field_encoding="EXPANDED",
              utf8_validation="NONE", message_encoding="LENGTH_PREFIXED",
              json_format="LEGACY_BEST_EFFORT")
ENUM_OF = dict(field_presence="_FEATURESET_FIELDPRESENCE", enum_type="_FEATURESET_ENUMTYPE",
               repeated_field_encoding="_FEATURESET_REPEATEDFIELDENCODING",
               utf8_validation="_FEATURESET_UTF8VALIDATION",
               message_encoding="_FEATURESET_MESSAGEENCODING",
               json_format="_FEATURESET_JSONFORMAT")


def features(**override):
    f = dict(PROTO2, **override)
    return "_ResolvedFeatures(%s)" % ",".join(
        '%s=%s.values_by_name["%s"].number' % (k, ENUM_OF[k], v) for k, v in f.items())


def top_level_enums(fd, src):
    blocks = []
    for e in fd.enum_type:
        var = "_" + e.name.upper()
        if "\n  %s = _descriptor.EnumDescriptor(" % var in src:
            continue
        lines = ["  %s = _descriptor.EnumDescriptor(" % var,
                 "    name=%r," % e.name,
                 "    full_name=%r," % (fd.package + "." + e.name),
                 "    filename=None,",
                 "    file=DESCRIPTOR,",
                 "    create_key=_descriptor._internal_create_key,",
                 "    values=["]
        for i, v in enumerate(e.value):
            lines += ["      _descriptor.EnumValueDescriptor(",
                      "        name=%r, index=%d, number=%d," % (v.name, i, v.number),
                      "        serialized_options=None,",
                      "        type=None,",
                      "        create_key=_descriptor._internal_create_key),"]
        lines += ["    ],", "    containing_type=None,", "    serialized_options=None,", "  )",
                  "  _sym_db.RegisterEnumDescriptor(%s)" % var, ""]
        blocks.append((e.name, "\n".join(lines)))
    return blocks


def resolved_features(fd):
    out = ["  class _ResolvedFeatures:",
           "    def __init__(self, features=None, **kwargs):",
           "      if features:",
           "        for k, v in features.FIELDS.items():",
           "          setattr(self, k, getattr(features, k))",
           "      else:",
           "        for k, v in kwargs.items():",
           "          setattr(self, k, v)",
           "  DESCRIPTOR._features = " + features()]

    def enum(e, prefix):
        name = prefix + "_" + e.name.upper()
        out.append("  %s._features = %s" % (name, features()))
        for i in range(len(e.value)):
            out.append("  %s.values[%d]._features = %s" % (name, i, features()))

    def message(m, prefix):
        name = prefix + "_" + m.name.upper()
        out.append("  %s._features = %s" % (name, features()))
        for i, f in enumerate(m.field):
            override = {}
            if f.label == F.LABEL_REQUIRED:
                override["field_presence"] = "LEGACY_REQUIRED"
            if f.options.packed:
                override["repeated_field_encoding"] = "PACKED"
            if f.type == F.TYPE_GROUP:
                override["message_encoding"] = "DELIMITED"
            out.append("  %s.fields[%d]._features = %s" % (name, i, features(**override)))
        for i in range(len(m.oneof_decl)):
            out.append("  %s.oneofs[%d]._features = %s" % (name, i, features()))
        if m.extension:
            sys.exit("descriptor.proto declares extensions inside %s; not handled" % m.name)
        for n in m.nested_type:
            message(n, name)
        for e in m.enum_type:
            enum(e, name)

    for m in fd.message_type:
        message(m, "")
    for e in fd.enum_type:
        enum(e, "")
    if fd.extension or fd.syntax not in ("", "proto2"):
        sys.exit("descriptor.proto is no longer plain proto2; not handled")
    return "\n".join(out)


def main():
    fds_path, pb2_path, upb_h, template, defaults_py = sys.argv[1:]
    with open(fds_path, "rb") as f:
        fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    (fd,) = [f for f in fds.file if f.name == "google/protobuf/descriptor.proto"]
    with open(pb2_path) as f:
        src = f.read()
    if "_ResolvedFeatures" in src:
        sys.exit("%s already has resolved features: not protoc 3.21 output?" % pb2_path)

    blocks = top_level_enums(fd, src)
    if blocks:
        # Before the first pure-Python block after DESCRIPTOR, so that every
        # message's fields can refer to them.
        anchor = "\nif _descriptor._USE_C_DESCRIPTORS == False:\n"
        at = src.index(anchor, src.index("\nelse:\n  DESCRIPTOR = "))
        src = src[:at] + anchor + "\n".join(b for _, b in blocks) + src[at:]
    print("descriptor_pb2.py: defined the top-level enums", [n for n, _ in blocks])

    # At the end of the pure-Python descriptor block, as protoc >= 26 does.
    anchor = "\nelse:\n  _builder.BuildMessageAndEnumDescriptors("
    at = src.index(anchor)
    block = resolved_features(fd)
    src = src[:at] + "\n" + block + "\n" + src[at:]
    print("descriptor_pb2.py: resolved features for %d descriptors" % (block.count("\n") - 7))
    with open(pb2_path, "w") as f:
        f.write(src)

    with open(upb_h) as f:
        m = re.search(r'^#define UPB_INTERNAL_UPB_EDITION_DEFAULTS "(.*)"$', f.read(), re.M)
    if not m:
        sys.exit("%s: no UPB_INTERNAL_UPB_EDITION_DEFAULTS" % upb_h)
    with open(template) as f:
        t = f.read()
    if t.count("DEFAULTS_VALUE") != 1:
        sys.exit("%s: want one DEFAULTS_VALUE" % template)
    # A C string literal of octal escapes and \" reads the same as Python bytes.
    with open(defaults_py, "w") as f:
        f.write(t.replace("DEFAULTS_VALUE", m.group(1)))
    print("python_edition_defaults.py: %d bytes of FeatureSetDefaults"
          % len(ast.literal_eval("b\"" + m.group(1) + "\"")))


FEATURES = ("field_presence", "enum_type", "repeated_field_encoding", "utf8_validation",
            "message_encoding", "json_format")


def check():
    """On the built runtime: builds descriptor.proto again in a fresh pool,
    where the runtime resolves every descriptor's features itself (from
    python_edition_defaults.py), and compares them with the embedded ones."""
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(descriptor_pb2.DESCRIPTOR.serialized_pb))
    fresh = pool.FindFileByName(descriptor_pb2.DESCRIPTOR.name)
    compared, differ = [0], []

    def same(a, b, name):
        fa, fb = a._GetFeatures(), b._GetFeatures()
        got = tuple(getattr(fa, n) for n in FEATURES)
        want = tuple(getattr(fb, n) for n in FEATURES)
        compared[0] += 1
        if got != want:
            differ.append((name, got, want))

    def enum(a, b):
        same(a, b, a.full_name)
        for v in a.values:
            same(v, b.values_by_name[v.name], a.full_name + "." + v.name)

    def message(a, b):
        same(a, b, a.full_name)
        for f in a.fields:
            same(f, b.fields_by_name[f.name], f.full_name)
        for o in a.oneofs:
            same(o, b.oneofs_by_name[o.name], o.full_name)
        for n in a.nested_types:
            message(n, b.nested_types_by_name[n.name])
        for e in a.enum_types:
            enum(e, b.enum_types_by_name[e.name])

    same(descriptor_pb2.DESCRIPTOR, fresh, fresh.name)
    for name, m in descriptor_pb2.DESCRIPTOR.message_types_by_name.items():
        message(m, fresh.message_types_by_name[name])
    for name, e in descriptor_pb2.DESCRIPTOR.enum_types_by_name.items():
        enum(e, fresh.enum_types_by_name[name])
    for d in differ:
        print("embedded features of %s: %r, the runtime resolves %r" % d)
    if differ:
        print("descriptor_pb2: %d of %d descriptors differ" % (len(differ), compared[0]))
        return 1
    print("descriptor_pb2: the embedded features of all %d descriptors match the runtime's own"
          " resolution" % compared[0])
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    main()
