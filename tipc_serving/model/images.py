"""Finding the test images: a file, or the image files of a folder in name order."""
from pathlib import Path

from ..errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_images(path):
    """A list of image paths: [path] for a file, the folder's image files (sorted) for a folder."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise UserError("no images in {} (looked for {})".format(path, ", ".join(IMAGE_SUFFIXES)))
        return found
    raise UserError("image path not found: {}".format(path))


def read_image_bytes(path):
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise UserError("cannot read image {}: {}".format(path, err.strerror)) from None
