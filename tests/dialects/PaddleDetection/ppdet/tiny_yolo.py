"""A tiny YOLO-style detector written for the tests, with the interface of PaddleDetection's exported
detectors: inputs image [N, 3, H, W], im_shape [N, 2] and scale_factor [N, 2] (the resized size and the
resize ratios, so im_shape / scale_factor is the original size), outputs the NMS boxes [M, 6] (class id,
score, x1, y1, x2, y2 in original-image pixels) and the box count per image [N]. The decoding and the NMS are
Paddle's own operators (yolo_box, matrix_nms, as PP-YOLO exports them), so a served model runs them."""
import paddle
import paddle.nn as nn
from paddle.vision.ops import matrix_nms, yolo_box

DOWNSAMPLE = 32


class TinyYOLO(nn.Layer):
    def __init__(self, num_classes, anchors):
        super().__init__()
        self.num_classes = num_classes
        self.anchors = [size for anchor in anchors for size in anchor]
        layers, channels = [], 3
        for width in (8, 16, 16, 32, 32):  # five stride-2 convolutions: stride 32
            layers += [nn.Conv2D(channels, width, 3, stride=2, padding=1), nn.ReLU()]
            channels = width
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Conv2D(channels, len(anchors) * (5 + num_classes), 1)

    def forward(self, image, im_shape, scale_factor):
        features = self.head(self.backbone(image))
        origin_size = paddle.cast(im_shape / scale_factor + 0.5, "int32")
        boxes, scores = yolo_box(features, origin_size, self.anchors, self.num_classes, conf_thresh=0.005,
                                 downsample_ratio=DOWNSAMPLE, clip_bbox=True, scale_x_y=1.05)
        bbox, bbox_num, _ = matrix_nms(boxes, scores.transpose([0, 2, 1]), score_threshold=0.01,
                                       post_threshold=0.01, nms_top_k=-1, keep_top_k=100, use_gaussian=False,
                                       background_label=-1, normalized=False)
        return bbox, bbox_num


def build(config):
    """The detector a stand-in config describes (configs/ppyolo/*.yml: num_classes, anchors)."""
    return TinyYOLO(config["num_classes"], config["anchors"])
