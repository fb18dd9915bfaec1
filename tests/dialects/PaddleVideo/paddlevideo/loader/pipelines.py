"""The video transforms PaddleVideo's recognition_web_service.py and tools/utils.py import from
paddlevideo.loader.pipelines (written for these tests). Each takes and returns the results dict: 'frames' (HWC
uint8 RGB arrays) and 'frames_len' in (VideoDecoder makes them from 'filename'); 'imgs' out, as PIL images until
Image2Array makes a [T,C,H,W] float32 array."""
import cv2
import numpy as np
from PIL import Image


class VideoDecoder:
    """Every frame of results['filename'], RGB. The real one decodes with decord (backend='decord'), which is not
    installed here: cv2 decodes the same frames, as the stand-in client's utils.py does."""

    def __init__(self, backend="cv2", mode="train", **_):
        self.backend = backend

    def __call__(self, results):
        capture = cv2.VideoCapture(results["filename"])
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame[:, :, ::-1])
        capture.release()
        results.update(frames=frames, frames_len=len(frames), format="video", backend=self.backend)
        return results


class Sampler:
    """`num_seg` segments of `seg_len` frames; in valid mode the middle frame of each segment."""

    def __init__(self, num_seg, seg_len, valid_mode=False, select_left=False, **_):
        self.num_seg, self.seg_len, self.valid_mode, self.select_left = num_seg, seg_len, valid_mode, select_left

    def __call__(self, results):
        count = results["frames_len"]
        step = count / self.num_seg
        picked = []
        for segment in range(self.num_seg):
            start = int(step * segment) if self.select_left else int(step * segment + step / 2)
            picked.extend(min(start + k, count - 1) for k in range(self.seg_len))
        results["imgs"] = [Image.fromarray(results["frames"][index]).convert("RGB") for index in picked]
        return results


class Scale:
    """The short side to `short_size`, keeping the aspect ratio."""

    def __init__(self, short_size, fixed_ratio=True, do_round=False, backend="pillow", **_):
        self.short_size, self.do_round = short_size, do_round

    def __call__(self, results):
        scaled = []
        for image in results["imgs"]:
            w, h = image.size
            ratio = self.short_size / min(w, h)
            size = (round(w * ratio), round(h * ratio)) if self.do_round else (int(w * ratio), int(h * ratio))
            scaled.append(image.resize(size, Image.BILINEAR))
        results["imgs"] = scaled
        return results


class CenterCrop:
    def __init__(self, target_size, **_):
        self.size = target_size

    def __call__(self, results):
        cropped = []
        for image in results["imgs"]:
            w, h = image.size
            left, top = int(round((w - self.size) / 2.0)), int(round((h - self.size) / 2.0))
            cropped.append(image.crop((left, top, left + self.size, top + self.size)))
        results["imgs"] = cropped
        return results


class TenCrop:
    """The four corners and the centre, and their mirror images."""

    def __init__(self, target_size):
        self.size = target_size

    def __call__(self, results):
        crops = []
        for image in results["imgs"]:
            w, h = image.size
            s = self.size
            corners = [(0, 0), (w - s, 0), (0, h - s), (w - s, h - s), ((w - s) // 2, (h - s) // 2)]
            five = [image.crop((x, y, x + s, y + s)) for x, y in corners]
            crops.extend(five + [crop.transpose(Image.FLIP_LEFT_RIGHT) for crop in five])
        results["imgs"] = crops
        return results


class Image2Array:
    """PIL images to one float32 array, [T,H,W,C] -> [T,C,H,W]."""

    def __init__(self, transpose=True, data_format="tchw"):
        self.transpose = transpose

    def __call__(self, results):
        images = np.stack([np.asarray(image) for image in results["imgs"]]).astype("float32")
        results["imgs"] = images.transpose((0, 3, 1, 2)) if self.transpose else images
        return results


class Normalization:
    """(x / 255 - mean) / std per channel of a [T,C,H,W] array."""

    def __init__(self, mean, std, tensor_shape=(3, 1, 1), **_):
        self.mean = np.array(mean, np.float32).reshape(tensor_shape)
        self.std = np.array(std, np.float32).reshape(tensor_shape)

    def __call__(self, results):
        results["imgs"] = ((results["imgs"] / 255.0 - self.mean) / self.std).astype("float32")
        return results
