"""Tell whether the running interpreter already satisfies the project's requirements files.

Used by tools/setup_env.sh to decide if an active environment can be used as it is. It must run on
any interpreter the user may bring (3.6 and newer), so it only uses the standard library and the
`packaging` copy that pip vendors. Exit status: 0 satisfied, 1 not (one line per problem on stdout).
"""
import sys

SUPPORTED = ((3, 8), (3, 9))


def _load_packaging():
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
    return Requirement


def _installed_version(name):
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        import importlib_metadata as metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def requirement_lines(path):
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                yield line


def problems(paths):
    found = []
    if sys.version_info[:2] not in SUPPORTED:
        found.append("Python {}.{} (need 3.8 or 3.9)".format(*sys.version_info[:2]))
        return found
    requirement_class = _load_packaging()
    for path in paths:
        for line in requirement_lines(path):
            requirement = requirement_class(line)
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue  # not for this platform / Python
            version = _installed_version(requirement.name)
            if version is None:
                found.append("{}: not installed".format(requirement.name))
            elif not requirement.specifier.contains(version, prereleases=True):
                found.append("{}: {} installed, {} required".format(
                    requirement.name, version, requirement.specifier))
    return found


def main(argv):
    if not argv:
        print("usage: check_env.py REQUIREMENTS_FILE [...]")
        return 2
    missing = problems(argv)
    for line in missing:
        print(line)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
