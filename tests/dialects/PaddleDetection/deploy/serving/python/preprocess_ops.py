"""Stand-in for PaddleDetection's deploy/serving/python/preprocess_ops.py, written for the tests: the
transforms an exported PP-YOLO's infer_cfg.yml names (Resize, NormalizeImage, Permute), each taking and
returning (image, im_info), and Compose, which builds them from infer_cfg.yml's Preprocess list and returns
the feed: image, im_shape (the resized size) and scale_factor (the resize ratios, y then x)."""
import copy

import cv2
import numpy as np


class Resize(object):
    def __init__(self, target_size, keep_ratio=True, interp=cv2.INTER_LINEAR):
        self.target_size = [target_size, target_size] if isinstance(target_size, int) else target_size
        self.keep_ratio = keep_ratio
        self.interp = interp

    def __call__(self, im, im_info):
        scale_y, scale_x = self.scales(im.shape[:2])
        im = cv2.resize(im, None, None, fx=scale_x, fy=scale_y, interpolation=self.interp)
        im_info["im_shape"] = np.array(im.shape[:2]).astype("float32")
        im_info["scale_factor"] = np.array([scale_y, scale_x]).astype("float32")
        return im, im_info

    def scales(self, shape):
        if not self.keep_ratio:
            return self.target_size[0] / float(shape[0]), self.target_size[1] / float(shape[1])
        # The shorter side to the smaller target, unless the longer side would pass the larger one.
        scale = float(min(self.target_size)) / min(shape)
        if np.round(scale * max(shape)) > max(self.target_size):
            scale = float(max(self.target_size)) / max(shape)
        return scale, scale


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


TRANSFORMS = {"Resize": Resize, "NormalizeImage": NormalizeImage, "Permute": Permute}


class Compose(object):
    def __init__(self, transforms):
        self.transforms = []
        for info in transforms:
            info = dict(info)
            self.transforms.append(TRANSFORMS[info.pop("type")](**info))

    def __call__(self, img):
        im = np.array(img)
        im_info = {"im_shape": np.array(im.shape[:2], dtype=np.float32),
                   "scale_factor": np.array([1., 1.], dtype=np.float32)}
        for transform in self.transforms:
            im, im_info = transform(im, im_info)
        inputs = copy.deepcopy(im_info)
        inputs["image"] = im
        return inputs
