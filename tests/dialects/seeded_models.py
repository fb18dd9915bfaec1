"""Small seeded networks with the feed and fetch of the models PaddlePaddle's repositories serve, for the
stand-in repositories under tests/dialects/ (built at test time, never committed).

The real architectures (ResNet50_vd, PP-LiteSeg, PP-TSM, MobileNetV3) are large or slow to build on two
cores; what the serving scripts and the harness depend on is the interface, which these keep:

- classifier_x     PaddleClas's export (ResNet50_vd): feed `x` [N,3,224,224] float32, fetch one softmax
                   [N,1000]. The TIPC script renames the fetch's alias_name to "prediction".
- classifier_input the models repository's Step6 and the TIPC template: an unnamed InputSpec on
                   nn.Sequential(net, nn.Softmax()), so the feed is `input`; the fetch is `softmax_1.tmp_0`,
                   the name Step6's web service reads (Paddle 2.5's to_static numbers that softmax 1).
- segmenter        PaddleSeg's export with --output_op argmax: feed `x` [N,3,H,W] float32, fetch
                   `argmax_0.tmp_0`, an int32 label map [N,H,W] (paddle.argmax(logit, axis=1, dtype='int32')).
- video            PaddleVideo's PP-TSM export: feed `data_batch_0` [N,8,3,224,224] float32, fetch the logits
                   [N,400] of a linear layer (no softmax: the web service applies one).

Each is a few convolutions with weights from paddle.seed(0). Run as a script in a fresh process, so that
Paddle's name counters start at 0 and the fetch names come out as above:

    python seeded_models.py KIND DIR PREFIX     # writes DIR/PREFIX.pdmodel and DIR/PREFIX.pdiparams
"""
import sys

KINDS = ("classifier_x", "classifier_input", "segmenter", "video")


def _layers():
    import paddle
    from paddle import nn

    class Features(nn.Layer):
        """Two strided convolutions and a global pool: [N,3,H,W] -> [N,16]."""

        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2D(3, 8, 3, stride=4, padding=1), nn.ReLU(),
                                      nn.Conv2D(8, 16, 3, stride=4, padding=1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2D(1), nn.Flatten())

        def forward(self, x):
            return self.body(x)

    class Classifier(nn.Layer):
        def __init__(self, classes=1000):
            super().__init__()
            self.features, self.head = Features(), nn.Linear(16, classes)

        def forward(self, x):
            return self.head(self.features(x))

    class Segmenter(nn.Layer):
        def __init__(self, classes=19):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2D(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2D(8, classes, 1))

        def forward(self, x):
            return paddle.argmax(self.body(x), axis=1, dtype="int32")

    class Video(nn.Layer):
        def __init__(self, segments=8, classes=400):
            super().__init__()
            self.segments, self.features, self.head = segments, Features(), nn.Linear(16, classes)

        def forward(self, data_batch_0):
            frames = paddle.reshape(data_batch_0, [-1, 3, 224, 224])
            feature = paddle.reshape(self.features(frames), [-1, self.segments, 16])
            return self.head(paddle.mean(feature, axis=1))

    return Classifier, Segmenter, Video


def build(kind):
    """(layer, input_spec) of a seeded network of this kind, in eval mode."""
    import paddle
    from paddle import nn
    from paddle.static import InputSpec

    if kind not in KINDS:
        raise ValueError("unknown kind {!r}: one of {}".format(kind, ", ".join(KINDS)))
    paddle.seed(0)
    Classifier, Segmenter, Video = _layers()
    if kind == "classifier_x":
        layer = nn.Sequential(Classifier(), nn.Softmax())
        spec = [InputSpec([None, 3, 224, 224], "float32", name="x")]
    elif kind == "classifier_input":
        layer = nn.Sequential(Classifier(), nn.Softmax())
        spec = [InputSpec([None, 3, 224, 224], "float32")]
    elif kind == "segmenter":
        layer, spec = Segmenter(), [InputSpec([None, 3, None, None], "float32", name="x")]
    else:
        layer, spec = Video(), [InputSpec([None, 8, 3, 224, 224], "float32", name="data_batch_0")]
    layer.eval()
    return layer, spec


def export(kind, directory, prefix="inference"):
    """Write directory/prefix.pdmodel and .pdiparams (call in a fresh process: see the docstring)."""
    import os

    import paddle

    layer, spec = build(kind)
    paddle.jit.save(paddle.jit.to_static(layer, input_spec=spec), os.path.join(str(directory), prefix))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: seeded_models.py {} DIR PREFIX".format("|".join(KINDS)))
    export(*sys.argv[1:])
