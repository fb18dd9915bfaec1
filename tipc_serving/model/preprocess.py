"""The image preprocessing of the classifier: the ONE copy used by the service and the reference.

Decode (strictly: a truncated or oversized image is an error, not a guess), resize the shorter side
to 256, centre-crop 224, RGB, scale to [0, 1], normalise with the ImageNet mean and std, HWC to CHW,
float32. Interpolation is OpenCV's bilinear, as in PaddleClas's ResizeImage.
"""
import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

RESIZE_SHORT = 256
CROP_SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

# Limits that keep one request from exhausting the service's memory.
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # about 6300 x 6300
MAX_ASPECT_RATIO = 50

# Only raster formats a camera or a web page produces: Pillow's other readers (EPS runs Ghostscript,
# for one) have no place in a service that decodes untrusted bytes.
ACCEPTED_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF", "TIFF", "PPM")

# Paddle Serving's op processes run one request at a time per process: extra OpenCV threads only
# compete with the predictor's math threads on a small machine.
cv2.setNumThreads(1)


class ImageError(ValueError):
    """The bytes are not an image this classifier accepts; the text says why, in a few words."""


class ImageTooLarge(ImageError):
    """The image is over one of the size limits above."""


def decode_image(data):
    """Decode encoded image bytes (JPEG, PNG, BMP, ...) to an RGB uint8 array of shape (H, W, 3)."""
    if not data:
        raise ImageError("empty image data")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge("image is {} bytes, over the limit of {} bytes".format(len(data), MAX_IMAGE_BYTES))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except UnidentifiedImageError:
            raise ImageError("not an image: the data is none of {}".format(", ".join(ACCEPTED_FORMATS))) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge("image is over the limit of {} pixels".format(MAX_IMAGE_PIXELS)) from None
        except (OSError, SyntaxError, ValueError) as err:  # a header cut short, a corrupt header
            raise ImageError("cannot read the image header: {}".format(err)) from None
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ImageTooLarge("image is {}x{} pixels, over the limit of {} pixels".format(
                width, height, MAX_IMAGE_PIXELS))
        if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
            raise ImageError("image is {}x{} pixels: aspect ratio over {}:1".format(width, height, MAX_ASPECT_RATIO))
        try:
            image.load()
            return _to_rgb_array(image)
        except (OSError, SyntaxError, ValueError, AttributeError, IndexError) as err:
            raise ImageError("cannot decode the {} image: {}".format(image.format or "", err)) from None


def _to_rgb_array(image):
    """RGB uint8 (H, W, 3). Pillow's 16/32-bit grayscale -> RGB clips instead of scaling: scale first."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or gray.max() > 255 else 255.0
        gray8 = np.clip(np.round(gray * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(gray8[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"))


def resize_short(rgb, short=RESIZE_SHORT):
    height, width = rgb.shape[:2]
    scale = short / min(height, width)
    new_width, new_height = int(round(width * scale)), int(round(height * scale))
    return cv2.resize(rgb, (new_width, new_height), interpolation=cv2.INTER_LINEAR)


def center_crop(rgb, size=CROP_SIZE):
    height, width = rgb.shape[:2]
    top, left = (height - size) // 2, (width - size) // 2
    return rgb[top:top + size, left:left + size]


def normalize_chw(rgb):
    scaled = rgb.astype(np.float32) / 255.0
    normalized = (scaled - MEAN) / STD
    return np.ascontiguousarray(normalized.transpose(2, 0, 1), dtype=np.float32)


def preprocess(rgb):
    """RGB uint8 (H, W, 3) -> float32 (3, 224, 224), ready for the model."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageError("expected an RGB image of shape (H, W, 3), got {}".format(rgb.shape))
    return normalize_chw(center_crop(resize_short(rgb)))


def preprocess_bytes(data):
    """Encoded image bytes -> float32 (3, 224, 224)."""
    return preprocess(decode_image(data))
