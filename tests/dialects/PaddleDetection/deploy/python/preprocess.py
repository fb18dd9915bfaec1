"""Stand-in for PaddleDetection's deploy/python/preprocess.py, written for the tests: the image decoded by cv2
(BGR) and turned to RGB, then the transforms infer_cfg.yml's Preprocess names, each (im, im_info) -> (im, im_info)."""
import cv2
import numpy as np


def decode_image(im_file, im_info):
    if isinstance(im_file, str):
        with open(im_file, "rb") as f:
            im_read = f.read()
        data = np.frombuffer(im_read, dtype="uint8")
        im = cv2.imdecode(data, 1)  # BGR mode, but need RGB mode
        im = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
    else:
        im = im_file
    im_info["im_shape"] = np.array(im.shape[:2], dtype=np.float32)
    im_info["scale_factor"] = np.array([1., 1.], dtype=np.float32)
    return im, im_info


class Resize(object):
    def __init__(self, target_size, keep_ratio=True, interp=cv2.INTER_LINEAR):
        self.target_size = [target_size, target_size] if isinstance(target_size, int) else target_size
        self.keep_ratio, self.interp = keep_ratio, interp

    def __call__(self, im, im_info):
        origin = im.shape[:2]
        if self.keep_ratio:
            # the shorter side to the smaller target, unless the longer side would pass the larger one
            scale = float(min(self.target_size)) / min(origin)
            if np.round(scale * max(origin)) > max(self.target_size):
                scale = float(max(self.target_size)) / max(origin)
            scale_y = scale_x = scale
        else:
            scale_y, scale_x = self.target_size[0] / float(origin[0]), self.target_size[1] / float(origin[1])
        im = cv2.resize(im, None, None, fx=scale_x, fy=scale_y, interpolation=self.interp)
        im_info["im_shape"] = np.array(im.shape[:2]).astype("float32")
        im_info["scale_factor"] = np.array([scale_y, scale_x]).astype("float32")
        return im, im_info


class NormalizeImage(object):
    def __init__(self, mean, std, is_scale=True, norm_type="mean_std"):
        self.mean, self.std, self.is_scale, self.norm_type = mean, std, is_scale, norm_type

    def __call__(self, im, im_info):
        im = im.astype(np.float32, copy=False)
        if self.is_scale:
            im *= 1.0 / 255.0
        if self.norm_type == "mean_std":
            im -= np.array(self.mean)[np.newaxis, np.newaxis, :]
            im /= np.array(self.std)[np.newaxis, np.newaxis, :]
        return im, im_info


class Permute(object):
    def __call__(self, im, im_info):
        return im.transpose((2, 0, 1)).copy(), im_info


def preprocess(im, preprocess_ops):
    im_info = {"scale_factor": np.array([1., 1.], dtype=np.float32), "im_shape": None}
    im, im_info = decode_image(im, im_info)
    for operator in preprocess_ops:
        im, im_info = operator(im, im_info)
    return im, im_info
