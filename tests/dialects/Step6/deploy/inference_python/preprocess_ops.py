"""The image transforms the models tutorial's Step6 infer.py imports from its preprocess_ops.py (written for
these tests; the real repository keeps the same file twice, here and beside web_service.py): PIL images in, a
CHW float32 array out."""
import numpy as np
from PIL import Image


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


class ResizeImage:
    """The short side to `size` (an int), or (h, w)."""

    def __init__(self, size, interpolation=Image.BILINEAR):
        self.size, self.interpolation = size, interpolation

    def __call__(self, image):
        w, h = image.size
        if isinstance(self.size, int):
            scale = self.size / min(w, h)
            target = (round(w * scale), round(h * scale))
        else:
            target = (self.size[1], self.size[0])
        return image.resize(target, self.interpolation)


class CenterCropImage:
    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, image):
        w, h = image.size
        top, left = (h - self.size[0]) // 2, (w - self.size[1]) // 2
        return image.crop((left, top, left + self.size[1], top + self.size[0]))


class NormalizeImage:
    """To float in [0, 1], then (x - mean) / std per channel (HWC)."""

    def __init__(self, scale=1 / 255.0, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
        self.scale = np.float32(scale)
        self.mean = np.array(mean, np.float32).reshape(1, 1, 3)
        self.std = np.array(std, np.float32).reshape(1, 1, 3)

    def __call__(self, image):
        return (np.asarray(image, np.float32) * self.scale - self.mean) / self.std


class ToCHW:
    def __call__(self, image):
        return np.ascontiguousarray(np.asarray(image).transpose((2, 0, 1)))
