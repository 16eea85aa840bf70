"""``gradkit data list | info NAME | download NAME``: what data sets exist, where they are, fetch them.

A missing, damaged or unreachable data set is reported on one line (gradkit.cli), exit status 2."""
from __future__ import annotations

from ..argtypes import out_folder
from . import datasets


def _where(spec, root) -> str:
    if spec.bundled:
        return "bundled with gradkit"
    folder = datasets.locate(spec.name, root)
    return str(folder) if folder is not None else "not downloaded"


def _list(args) -> int:
    rows = [(name, *datasets.get_spec(name).sizes, _where(datasets.get_spec(name), args.root))
            for name in datasets.names()]
    width = max(len(r[0]) for r in rows)
    print(f"{'name':<{width}}  {'train':>6}  {'test':>6}  where")
    for name, n_train, n_test, where in rows:
        print(f"{name:<{width}}  {n_train:>6}  {n_test:>6}  {where}")
    return 0


def _info(args) -> int:
    spec = datasets.get_spec(args.name)
    n_train, n_test = spec.sizes
    image_shape = "x".join(map(str, spec.files[0].shape[1:]))
    lines = [f"{spec.name}: {spec.description}",
             f"  train      {n_train} images {image_shape} uint8, labels int64",
             f"  test       {n_test} images {image_shape} uint8, labels int64",
             f"  samples    float32 in [0, 1], shape (1, {', '.join(map(str, spec.files[0].shape[1:]))})",
             f"  classes    {len(spec.classes)}: {', '.join(spec.classes)}",
             f"  licence    {spec.licence}",
             f"  homepage   {spec.homepage}",
             f"  where      {_where(spec, args.root)}"]
    if not spec.bundled:
        lines.append("  looked in  " + "\n             ".join(f"{p}  ({why})" for p, why in
                                                             datasets.search_places(spec.name, args.root)))
        lines.append("  mirrors    " + "\n             ".join(spec.mirrors))
    lines.append("  files      " + "\n             ".join(f"{f.name}  sha256 of the decompressed IDX: {f.sha256}"
                                                         for f in spec.files))
    print("\n".join(lines))
    if args.check:
        train, test = datasets.load(spec.name, args.root, download=False)
        counts = train.class_counts() + test.class_counts()
        print(f"  checked    sha256 and shapes OK; samples per class: {' '.join(map(str, counts))}")
    return 0


def _download(args) -> int:
    spec = datasets.get_spec(args.name)
    if spec.bundled:
        print(f"{spec.name} ships inside gradkit: nothing to download ({datasets.locate(spec.name)})")
        return 0
    folder = datasets.download(spec.name, args.root, mirrors=args.mirror)
    datasets.verify(spec.name, args.root)  # every file, those already there included
    print(f"{spec.name}: ready in {folder}")
    return 0


def register(subparsers) -> None:
    """Add the ``data`` verb to the ``gradkit`` command."""
    data = subparsers.add_parser("data", help="list, describe and download data sets")
    verbs = data.add_subparsers(dest="data_verb", required=True)
    listing = verbs.add_parser("list", help="every data set, its size and where it is")
    listing.add_argument("--root", help="a folder holding <name>/ folders, searched first")
    listing.set_defaults(handler=_list)
    info = verbs.add_parser("info", help="sizes, shapes, classes, licence and where a data set is")
    info.add_argument("name", choices=datasets.names())
    info.add_argument("--root", help="a folder holding <name>/ folders, searched first")
    info.add_argument("--check", action="store_true", help="also load it and verify every checksum")
    info.set_defaults(handler=_info)
    fetch = verbs.add_parser("download", help="download a data set from its official mirrors, verified")
    fetch.add_argument("name", choices=datasets.names())
    fetch.add_argument("--root", type=out_folder, help="download into ROOT/<name>/ (default: $GRADKIT_DATA, else the user cache)")
    fetch.add_argument("--mirror", action="append", metavar="URL",
                       help="base URL to download from instead of the official mirrors (repeatable)")
    fetch.set_defaults(handler=_download)
