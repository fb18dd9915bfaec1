"""Stand-in for paddlevideo.utils (written for these tests): what tools/predict.py and tools/utils.py import:
get_config (a yaml file as attribute dicts, `-o a.b=value` overrides applied), Registry and build."""
import yaml


class AttrDict(dict):
    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value


def _attr(value):
    if isinstance(value, dict):
        return AttrDict({k: _attr(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_attr(v) for v in value]
    return value


def get_config(fname, overrides=None, show=True):
    with open(fname) as stream:
        config = _attr(yaml.safe_load(stream))
    for override in overrides or []:
        key, value = override.split("=", 1)
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, AttrDict())
        node[leaf] = yaml.safe_load(value)
    if show:
        print(config)
    return config


class Registry:
    def __init__(self, name):
        self.name, self.classes = name, {}

    def register(self, cls=None):
        def add(klass):
            self.classes[klass.__name__] = klass
            return klass
        return add(cls) if cls is not None else add

    def get(self, name):
        return self.classes.get(name)


def build(cfg, registry, key="name"):
    """registry's class named cfg[key], made with the rest of cfg as keywords."""
    args = dict(cfg)
    name = args.pop(key)
    klass = registry.get(name)
    if klass is None:
        raise KeyError("{} is not in the {} registry".format(name, registry.name))
    return klass(**args)
