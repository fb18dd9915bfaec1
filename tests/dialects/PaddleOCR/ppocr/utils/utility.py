"""Stand-in for PaddleOCR's ppocr/utils/utility.py, written for the tests: the image list the inference scripts
read (a file, or a folder's image files sorted by name) and check_and_read (no GIF or PDF here: (None, False,
False), the caller reads the image itself)."""
import os

IMAGE_EXTS = {"jpg", "bmp", "png", "jpeg", "rgb", "tif", "tiff", "gif", "pdf"}


def _is_image(path):
    return path.rsplit(".", 1)[-1].lower() in IMAGE_EXTS


def get_image_file_list(img_file):
    if img_file is None or not os.path.exists(img_file):
        raise Exception("not found any img file in {}".format(img_file))
    if os.path.isfile(img_file) and _is_image(img_file):
        return [img_file]
    return sorted(os.path.join(img_file, name) for name in os.listdir(img_file)
                  if os.path.isfile(os.path.join(img_file, name)) and _is_image(name))


def check_and_read(img_path):
    return None, False, False
