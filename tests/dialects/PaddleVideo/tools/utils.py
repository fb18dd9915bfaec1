"""Stand-in for PaddleVideo's tools/utils.py (written for these tests): the INFERENCE registry and the PP-TSM
helper tools/predict.py builds from its yaml's INFERENCE section (build_inference_helper).

ppTSM_Inference_helper as the real one: its defaults (num_seg 8, seg_len 1, short_size 256, target_size 224,
top_k 1), its preprocess (VideoDecoder, Sampler in valid mode, Scale, CenterCrop, Image2Array, Normalization
with ImageNet's mean and std; [1,T,C,H,W]), and Base_Inference_helper's postprocess: the outputs' softmax, the
top_k of each video, printed as `Current video file: <path>`, `\\ttop-1 class: [id]`, `\\ttop-1 score: [p]`.
"""
import os

import numpy as np
import paddle
import paddle.nn.functional as F

from paddlevideo.loader.pipelines import CenterCrop, Image2Array, Normalization, Sampler, Scale, VideoDecoder
from paddlevideo.utils import Registry, build

INFERENCE = Registry("inference")


def build_inference_helper(cfg):
    return build(cfg, INFERENCE)


class Base_Inference_helper:
    def __init__(self, num_seg=8, seg_len=1, short_size=256, target_size=224, top_k=1):
        self.num_seg, self.seg_len, self.short_size, self.target_size, self.top_k = (num_seg, seg_len, short_size,
                                                                                     target_size, top_k)

    def preprocess_batch(self, file_list):
        batched = [self.preprocess(path) for path in file_list]
        self.input_file = file_list
        return [np.concatenate([item[i] for item in batched]) for i in range(len(batched[0]))]

    def postprocess(self, output, print_output=True, return_result=False):
        if not isinstance(self.input_file, list):
            self.input_file = [self.input_file]
        output = output[0]
        count = len(self.input_file)
        if output.shape[0] != count:
            output = output.reshape([count, output.shape[0] // count] + list(output.shape[1:])).mean(axis=1)
        output = F.softmax(paddle.to_tensor(output), axis=-1).numpy()
        results = []
        for i in range(count):
            classes = np.argpartition(output[i], -self.top_k)[-self.top_k:]
            classes = classes[np.argsort(-output[i, classes])]
            scores = output[i, classes]
            results.append({"video_id": self.input_file[i], "topk_class": classes, "topk_scores": scores})
            if print_output:
                print("Current video file: {0}".format(self.input_file[i]))
                print("\ttop-{0} class: {1}".format(self.top_k, classes))
                print("\ttop-{0} score: {1}".format(self.top_k, scores))
        return results if return_result else None


@INFERENCE.register()
class ppTSM_Inference_helper(Base_Inference_helper):
    def __init__(self, num_seg=8, seg_len=1, short_size=256, target_size=224, top_k=1):
        super().__init__(num_seg, seg_len, short_size, target_size, top_k)

    def preprocess(self, input_file):
        assert os.path.isfile(input_file), "{0} not exists".format(input_file)
        results = {"filename": input_file}
        img_mean = [0.485, 0.456, 0.406]
        img_std = [0.229, 0.224, 0.225]
        ops = [VideoDecoder(backend="decord"), Sampler(self.num_seg, self.seg_len, valid_mode=True),
               Scale(self.short_size), CenterCrop(self.target_size), Image2Array(), Normalization(img_mean, img_std)]
        for op in ops:
            results = op(results)
        return [np.expand_dims(results["imgs"], axis=0).copy()]
