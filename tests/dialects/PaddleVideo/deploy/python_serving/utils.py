"""What PaddleVideo's pipeline_http_client.py imports from its utils.py (written for these tests)."""
import base64
import os

import cv2
import numpy as np


def numpy_to_base64(array):
    return base64.b64encode(array).decode("utf8")


def video_to_numpy(file_path):
    """Every frame cv2 can decode, RGB, stacked: [T,H,W,C] uint8."""
    capture = cv2.VideoCapture(file_path)
    frames = []
    for _ in range(int(capture.get(cv2.CAP_PROP_FRAME_COUNT))):
        ok, frame = capture.read()
        if ok:
            frames.append(frame[:, :, ::-1])
    return np.stack(frames, axis=0)


def parse_file_paths(input_path):
    """The file, or the .avi and .mp4 files of the folder."""
    assert os.path.exists(input_path), "{} did not exists!".format(input_path)
    if os.path.isfile(input_path):
        return [input_path]
    return [os.path.join(input_path, name) for name in os.listdir(input_path) if name.endswith((".avi", ".mp4"))]
