"""The pure-Python reference layer: preprocessing, postprocessing, result lines, statistics, image listing.

No model and no subprocess here: every test runs in milliseconds.
"""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import IMAGES
from tipc_serving.bench import stats
from tipc_serving.model import images, postprocess, preprocess
from tipc_serving.verdict import result_lines
from tipc_serving.errors import UserError
from tipc_serving.model.preprocess import ImageError, ImageTooLarge
from tipc_serving.verdict.result_lines import ImageResult

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
REAL_IMAGES = sorted(IMAGES.glob("*.jpg"))


# ----------------------------------------------------------------------------------------- helpers
def encode(image, fmt="PNG", **options):
    """PIL image or uint8 array -> encoded bytes."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def solid(width, height, colour, mode="RGB"):
    return Image.new(mode, (width, height), colour)


def expected_channels(rgb):
    """The normalised value of each channel for one RGB colour, computed in float64."""
    return (np.asarray(rgb, dtype=np.float64) / 255.0 - MEAN) / STD


def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_claiming(width, height):
    """A small, well-formed PNG whose header claims width x height (the pixel data is not there)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 16)) + png_chunk(b"IEND", b""))


def assert_one_readable_line(message, *words):
    assert "\n" not in message and 0 < len(message) < 200, message
    for word in words:
        assert word in message, "{!r} not in {!r}".format(word, message)


def test_repo_has_the_test_images():
    assert [p.name for p in REAL_IMAGES] == ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]


# ---------------------------------------------------------------------------- shapes for many inputs
@pytest.mark.parametrize("width, height, mode, fmt", [
    (640, 480, "RGB", "JPEG"),    # landscape
    (480, 640, "RGB", "JPEG"),    # portrait
    (256, 256, "RGB", "PNG"),     # exactly the resize target
    (224, 224, "RGB", "PNG"),     # exactly the crop
    (100, 60, "RGB", "PNG"),      # smaller than the crop: upscaled
    (1, 1, "RGB", "PNG"),         # one pixel
    (50, 1, "RGB", "PNG"),        # the largest aspect ratio allowed
    (300, 200, "L", "PNG"),       # grayscale
    (300, 200, "RGBA", "PNG"),    # with alpha
    (300, 200, "P", "PNG"),       # palette
    (300, 200, "RGB", "BMP"),
    (300, 200, "RGB", "WEBP"),
    (300, 200, "CMYK", "JPEG"),
])
def test_preprocess_shape_and_dtype(width, height, mode, fmt):
    colour = {"L": 90, "P": 3, "RGBA": (10, 20, 30, 255), "CMYK": (0, 10, 20, 0)}.get(mode, (10, 200, 30))
    out = preprocess.preprocess_bytes(encode(solid(width, height, colour, mode), fmt))
    assert out.shape == (3, 224, 224)
    assert out.dtype == np.float32
    assert out.flags["C_CONTIGUOUS"]
    assert np.isfinite(out).all()


@pytest.mark.parametrize("path", REAL_IMAGES, ids=lambda p: p.name)
def test_preprocess_real_images(path):
    out = preprocess.preprocess_bytes(path.read_bytes())
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    low, high = (0 - MEAN) / STD, (1 - MEAN) / STD
    for channel in range(3):
        assert out[channel].min() >= low[channel] - 1e-5
        assert out[channel].max() <= high[channel] + 1e-5
    assert out.std() > 0.1  # a real photo, not a constant


@pytest.mark.parametrize("height, width, expected", [
    (480, 640, (256, 341)),
    (640, 480, (341, 256)),
    (256, 256, (256, 256)),
    (100, 50, (512, 256)),
    (333, 500, (256, 384)),
    (1, 50, (256, 12800)),
])
def test_resize_short_sets_the_shorter_side_to_256(height, width, expected):
    out = preprocess.resize_short(np.zeros((height, width, 3), dtype=np.uint8))
    assert out.shape == expected + (3,)
    assert out.dtype == np.uint8


def test_resize_short_keeps_an_image_whose_short_side_is_256():
    rgb = np.random.default_rng(1).integers(0, 256, (256, 300, 3), dtype=np.uint8)
    assert np.array_equal(preprocess.resize_short(rgb), rgb)


# ------------------------------------------------------------------------------------- known values
@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (255, 0, 0), (12, 130, 251)])
@pytest.mark.parametrize("size", [(300, 500), (256, 256), (90, 40)])
def test_solid_colour_gives_the_normalised_colour_everywhere(colour, size):
    out = preprocess.preprocess_bytes(encode(solid(size[0], size[1], colour)))
    expected = expected_channels(colour)
    for channel in range(3):
        np.testing.assert_allclose(out[channel], expected[channel], rtol=0, atol=1e-6)


def test_channel_order_is_rgb():
    out = preprocess.preprocess_bytes(encode(solid(300, 300, (255, 0, 0))))
    assert out[0, 0, 0] == pytest.approx((1.0 - 0.485) / 0.229, abs=1e-6)
    assert out[1, 0, 0] == pytest.approx((0.0 - 0.456) / 0.224, abs=1e-6)
    assert out[2, 0, 0] == pytest.approx((0.0 - 0.406) / 0.225, abs=1e-6)


def test_every_uint8_value_normalises_exactly():
    values = np.arange(256, dtype=np.uint8)
    rgb = np.stack([values] * 3, axis=-1)[None]  # (1, 256, 3)
    out = preprocess.normalize_chw(rgb)
    assert out.shape == (3, 1, 256) and out.dtype == np.float32
    expected = (values[None, :] / 255.0 - MEAN[:, None]) / STD[:, None]
    np.testing.assert_allclose(out[:, 0, :], expected, rtol=0, atol=1e-6)


def test_grayscale_png_gives_equal_rgb_channels():
    out = preprocess.preprocess_bytes(encode(solid(320, 240, 77, "L")))
    expected = expected_channels((77, 77, 77))
    for channel in range(3):
        np.testing.assert_allclose(out[channel], expected[channel], rtol=0, atol=1e-6)


def test_palette_png_uses_the_palette_colour():
    image = solid(300, 260, (40, 80, 160)).convert("P", palette=Image.ADAPTIVE, colors=4)
    out = preprocess.preprocess_bytes(encode(image))
    expected = expected_channels(image.convert("RGB").getpixel((0, 0)))
    for channel in range(3):
        np.testing.assert_allclose(out[channel], expected[channel], rtol=0, atol=1e-6)


def test_opaque_rgba_equals_rgb():
    rgb = np.random.default_rng(2).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((240, 320, 1), 255, dtype=np.uint8)], axis=-1)
    from_rgba = preprocess.preprocess_bytes(encode(rgba))
    from_rgb = preprocess.preprocess_bytes(encode(rgb))
    assert np.array_equal(from_rgba, from_rgb)


def test_decode_png_is_lossless():
    rgb = np.random.default_rng(3).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    decoded = preprocess.decode_image(encode(rgb))
    assert decoded.dtype == np.uint8 and decoded.shape == (30, 40, 3)
    assert np.array_equal(decoded, rgb)


def test_sixteen_bit_grayscale_png_is_scaled_not_clipped():
    gray16 = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    decoded = preprocess.decode_image(encode(gray16))
    expected = (gray16 >> 8).astype(np.uint8)
    assert np.abs(decoded[..., 0].astype(int) - expected).max() <= 1


def test_two_colour_landscape_crop_by_hand():
    # 512 x 256: the short side is already 256, so no resampling; the crop starts at x = (512 - 224) // 2 = 144,
    # and the colour boundary at x = 256 falls on crop column 256 - 144 = 112.
    rgb = np.zeros((256, 512, 3), dtype=np.uint8)
    left, right = (200, 10, 10), (10, 10, 200)
    rgb[:, :256] = left
    rgb[:, 256:] = right
    out = preprocess.preprocess_bytes(encode(rgb))
    for channel in range(3):
        np.testing.assert_allclose(out[channel, :, :112], expected_channels(left)[channel], atol=1e-6)
        np.testing.assert_allclose(out[channel, :, 112:], expected_channels(right)[channel], atol=1e-6)


def test_two_colour_portrait_crop_by_hand():
    # 256 wide x 400 high: the crop starts at y = (400 - 224) // 2 = 88; the boundary at y = 200 is crop row 112.
    rgb = np.zeros((400, 256, 3), dtype=np.uint8)
    top, bottom = (0, 255, 0), (255, 255, 0)
    rgb[:200] = top
    rgb[200:] = bottom
    out = preprocess.preprocess_bytes(encode(rgb))
    for channel in range(3):
        np.testing.assert_allclose(out[channel, :112], expected_channels(top)[channel], atol=1e-6)
        np.testing.assert_allclose(out[channel, 112:], expected_channels(bottom)[channel], atol=1e-6)


def test_upscaling_is_bilinear():
    # 256 x 128 doubles to 512 x 256; the boundary at x = 128 becomes x = 256, crop column 112. Bilinear
    # interpolation blends exactly the two columns either side of it (crop columns 111 and 112).
    rgb = np.zeros((128, 256, 3), dtype=np.uint8)
    rgb[:, 128:] = 200
    resized = preprocess.resize_short(preprocess.decode_image(encode(rgb)))
    assert resized.shape == (256, 512, 3)
    crop = preprocess.center_crop(resized)[0, :, 0].astype(int)
    assert (crop[:111] == 0).all()
    assert (crop[113:] == 200).all()
    assert 0 < crop[111] < crop[112] < 200


def test_center_crop_takes_the_centre():
    height, width = 300, 261
    index = np.arange(height * width, dtype=np.int64).reshape(height, width)
    rgb = np.stack([index, index, index], axis=-1)
    crop = preprocess.center_crop(rgb)
    assert crop.shape == (224, 224, 3)
    top, left = (300 - 224) // 2, (261 - 224) // 2
    assert (top, left) == (38, 18)
    assert np.array_equal(crop, rgb[38:262, 18:242])
    assert crop[0, 0, 0] == 38 * width + 18


def test_center_crop_of_exact_size_is_identity():
    rgb = np.random.default_rng(4).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    assert np.array_equal(preprocess.center_crop(rgb), rgb)


def test_preprocess_rejects_a_non_rgb_array():
    with pytest.raises(ImageError, match=r"expected an RGB image"):
        preprocess.preprocess(np.zeros((300, 300), dtype=np.uint8))
    with pytest.raises(ImageError, match=r"expected an RGB image"):
        preprocess.preprocess(np.zeros((300, 300, 4), dtype=np.uint8))


# --------------------------------------------------------------------------------------------- errors
def test_image_too_large_is_an_image_error():
    assert issubclass(ImageTooLarge, ImageError)
    assert issubclass(ImageError, ValueError)


@pytest.mark.parametrize("data, words", [
    (b"", ["empty image data"]),
    (np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8).tobytes(), ["not an image"]),
    (b"hello, this is a text file, not a picture\n" * 20, ["not an image"]),
    (b"<html><body>404 not found</body></html>", ["not an image"]),
], ids=["empty", "random", "text", "html"])
def test_non_images_are_rejected(data, words):
    with pytest.raises(ImageError) as info:
        preprocess.decode_image(data)
    assert not isinstance(info.value, ImageTooLarge)
    assert_one_readable_line(str(info.value), *words)


@pytest.mark.parametrize("path", REAL_IMAGES, ids=lambda p: p.name)
def test_jpeg_cut_in_half_is_rejected(path):
    data = path.read_bytes()
    with pytest.raises(ImageError) as info:
        preprocess.decode_image(data[:len(data) // 2])
    assert_one_readable_line(str(info.value), "cannot decode the JPEG image", "truncated")


def test_jpeg_cut_in_half_is_rejected_by_preprocess_bytes():
    data = (IMAGES / "chelsea.jpg").read_bytes()
    with pytest.raises(ImageError, match="truncated"):
        preprocess.preprocess_bytes(data[:len(data) // 2])


def _truncated(fmt, size):
    rgb = np.random.default_rng(6).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    return encode(rgb, fmt)[:size]


@pytest.mark.parametrize("data", [
    (IMAGES / "chelsea.jpg").read_bytes()[:100],
    _truncated("PNG", 20),
    _truncated("BMP", 30),
    _truncated("WEBP", 1000),
    _truncated("PPM", 5),
], ids=["jpeg-100-bytes", "png-20-bytes", "bmp-30-bytes", "webp-1000-bytes", "ppm-5-bytes"])
def test_image_cut_inside_its_header_is_an_image_error(data):
    # Pillow raises OSError or ValueError from Image.open for these, not UnidentifiedImageError.
    with pytest.raises(ImageError) as info:
        preprocess.decode_image(data)
    assert_one_readable_line(str(info.value), "cannot read the image header")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF"])
def test_every_prefix_of_an_image_is_an_image_error(fmt):
    rgb = np.random.default_rng(10).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    data = encode(rgb, fmt)
    # GIF and PNG decode fine without their trailer chunk: stop before the last 16 bytes.
    for size in range(1, len(data) - 16, max(1, len(data) // 300)):
        with pytest.raises(ImageError):
            preprocess.decode_image(data[:size])


def test_eps_is_refused_even_when_well_formed():
    # Pillow's EPS reader runs Ghostscript: a service decoding untrusted bytes must not reach it.
    data = encode(np.zeros((40, 60, 3), dtype=np.uint8), "EPS")
    with pytest.raises(ImageError) as info:
        preprocess.decode_image(data)
    assert "not an image" in str(info.value)


def test_eps_with_a_corrupt_bounding_box_is_an_image_error():
    data = encode(np.zeros((40, 60, 3), dtype=np.uint8), "EPS")
    corrupt = data.replace(b"%%BoundingBox: 0 0 60 40", b"%%BoundingBox:!0 0 60 40")
    assert corrupt != data
    with pytest.raises(ImageError):
        preprocess.decode_image(corrupt)


def test_corrupt_png_data_is_rejected():
    data = bytearray(encode(np.random.default_rng(7).integers(0, 256, (50, 50, 3), dtype=np.uint8)))
    idat = data.index(b"IDAT")
    for i in range(idat + 8, idat + 40):
        data[i] ^= 0xFF
    with pytest.raises(ImageError) as info:
        preprocess.decode_image(bytes(data))
    assert_one_readable_line(str(info.value), "PNG")


@pytest.mark.parametrize("width, height, words", [
    (7000, 7000, ["7000x7000", "40000000"]),     # over our limit, under Pillow's own
    (10000, 10000, ["over the limit", "40000000"]),  # Pillow's decompression-bomb warning
    (30000, 30000, ["over the limit", "40000000"]),  # Pillow's decompression-bomb error
])
def test_image_over_the_pixel_limit_is_rejected_from_its_header(width, height, words):
    with pytest.raises(ImageTooLarge) as info:
        preprocess.decode_image(png_claiming(width, height))
    assert_one_readable_line(str(info.value), "pixels", *words)


def test_pixel_limit_is_read_at_call_time(monkeypatch):
    data = encode(solid(20, 20, (1, 2, 3)))
    assert preprocess.decode_image(data).shape == (20, 20, 3)
    monkeypatch.setattr(preprocess, "MAX_IMAGE_PIXELS", 399)
    with pytest.raises(ImageTooLarge) as info:
        preprocess.decode_image(data)
    assert_one_readable_line(str(info.value), "20x20 pixels", "399")
    monkeypatch.setattr(preprocess, "MAX_IMAGE_PIXELS", 400)
    assert preprocess.decode_image(data).shape == (20, 20, 3)


def test_byte_limit(monkeypatch):
    data = (IMAGES / "chelsea.jpg").read_bytes()
    monkeypatch.setattr(preprocess, "MAX_IMAGE_BYTES", len(data) - 1)
    with pytest.raises(ImageTooLarge) as info:
        preprocess.decode_image(data)
    assert_one_readable_line(str(info.value), "{} bytes".format(len(data)), str(len(data) - 1))
    monkeypatch.setattr(preprocess, "MAX_IMAGE_BYTES", len(data))
    assert preprocess.decode_image(data).shape[2] == 3


def test_default_byte_limit_checked_before_decoding():
    with pytest.raises(ImageTooLarge, match="over the limit of 20971520 bytes"):
        preprocess.decode_image(b"\0" * (20 * 1024 * 1024 + 1))


@pytest.mark.parametrize("width, height", [(51, 1), (1, 51), (5100, 100), (100000, 1)])
def test_extreme_aspect_ratio_is_rejected(width, height):
    with pytest.raises(ImageError) as info:
        preprocess.decode_image(png_claiming(width, height))
    assert not isinstance(info.value, ImageTooLarge)
    assert_one_readable_line(str(info.value), "{}x{} pixels".format(width, height), "aspect ratio over 50:1")


def test_aspect_ratio_limit_is_inclusive():
    assert preprocess.decode_image(encode(solid(50, 1, (9, 9, 9)))).shape == (1, 50, 3)
    assert preprocess.decode_image(encode(solid(1, 50, (9, 9, 9)))).shape == (50, 1, 3)


# --------------------------------------------------------------------------------------- postprocess
def test_topk_of_a_distribution_keeps_it():
    row = np.array([0.1, 0.6, 0.05, 0.25])
    ids, probs = postprocess.topk(row, 3)
    assert ids == [1, 3, 0]
    assert probs == pytest.approx([0.6, 0.25, 0.1], abs=1e-12)


def test_topk_of_logits_applies_softmax():
    row = np.array([1.0, 3.0, -2.0, 0.0])
    ids, probs = postprocess.topk(row, 4)
    expected = np.exp(row) / np.exp(row).sum()
    assert ids == [1, 0, 3, 2]
    assert probs == pytest.approx(list(expected[ids]), rel=1e-12)
    assert sum(probs) == pytest.approx(1.0)


def test_topk_ties_keep_the_lower_id_and_k_is_clamped():
    ids, probs = postprocess.topk([0.25, 0.25, 0.25, 0.25], 10)
    assert ids == [0, 1, 2, 3] and probs == [0.25] * 4
    assert postprocess.topk([0.2, 0.8], 0) == ([1], [0.8])


def test_classify_batch_one_result_per_row():
    output = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    results = postprocess.classify_batch(output, 2)
    assert [ids for ids, _ in results] == [[0, 1], [2, 0]]
    assert results[1][1] == pytest.approx([0.8, 0.1], abs=1e-6)


# -------------------------------------------------------------------------------------- result lines
def test_format_line_exact_text():
    line = result_lines.format_line(ImageResult("demo.jpg", [136, 548], [0.013615334, 0.0123]))
    assert line == "image_name: demo.jpg, class_id: 136, prob: 0.013615334, topk: 136:0.013615334 548:0.0123"


@pytest.mark.parametrize("name", ["demo.jpg", "my photo.jpg", "a, b.png", "x:y.jpeg"])
def test_format_then_parse_round_trips(name):
    probs32 = np.array([0.55082178, 0.17817843, 0.12168223, 3.1e-05, 1.0e-09], dtype=np.float32)
    original = ImageResult(name, [483, 974, 36, 45, 0], [float(p) for p in probs32])
    parsed = result_lines.parse_line(result_lines.format_line(original) + "\n")
    assert parsed.image == name
    assert parsed.class_ids == original.class_ids
    assert parsed.class_id == 483
    assert parsed.err_no == 0
    # 9 significant digits recover every float32 exactly.
    assert np.array_equal(np.array(parsed.probs, dtype=np.float32), probs32)


def test_error_line_round_trips_and_collapses_whitespace():
    original = ImageResult("bad.jpg", err_no=10001, err_msg="image 'image': not an image\n  second line")
    line = result_lines.format_line(original)
    assert line == "image_name: bad.jpg, err_no: 10001, err_msg: image 'image': not an image second line"
    parsed = result_lines.parse_line(line)
    assert (parsed.image, parsed.err_no, parsed.err_msg) == ("bad.jpg", 10001, "image 'image': not an image second line")
    assert parsed.class_ids == [] and parsed.class_id is None and parsed.prob is None


def test_parse_line_without_topk():
    parsed = result_lines.parse_line("image_name: demo.jpg, class_id: 136, prob: 0.013615332543849945")
    assert (parsed.image, parsed.class_ids, parsed.probs) == ("demo.jpg", [136], [0.013615332543849945])


def test_parse_lines_ignores_unrelated_lines():
    text = "\n".join([
        "W1125 17:43:22.395653  7212 dynamic_loader.cc:303] The third-party dynamic library ...",
        "image_name: a.jpg, class_id: 1, prob: 0.5, topk: 1:0.5 2:0.25",
        "UserWarning: You are using GPU version Paddle",
        "image_name: only a name",
        "",
        "  image_name: indented.jpg, class_id: 3, prob: 0.1",
        "image_name: b.jpg, err_no: 10000, err_msg: boom",
        "benchmark: batch_size 1, 4 images x 10 rounds after 3 warm-up",
        "image_name: c.jpg, class_id: 7, prob: 0.9, topk: 7:0.9",
    ])
    parsed = result_lines.parse_lines(text.splitlines())
    assert [r.image for r in parsed] == ["a.jpg", "b.jpg", "c.jpg"]
    assert parsed[0].class_ids == [1, 2] and parsed[0].probs == [0.5, 0.25]
    assert parsed[1].err_no == 10000 and parsed[1].err_msg == "boom"
    assert parsed[2].class_id == 7 and parsed[2].prob == 0.9


@pytest.mark.parametrize("line, why", [
    ("image_name: a.jpg, class_id: 1, prob: 0.5, topk: 2:0.5 1:0.25", "disagree"),
    ("image_name: a.jpg, class_id: 1, prob: 0.5, topk: 1:0.25 2:0.2", "disagree"),
    ("image_name: a.jpg, class_id: 1, prob: 0.5, topk: 1:0.5 garbage", "not 'id:prob ...'"),
    ("image_name: a.jpg, class_id: 1, prob: 0.5, topk: one:0.5", "not 'id:prob ...'"),
    ("image_name: a.jpg, class_id: 1, prob: 0.5, topk: 1:half", "not 'id:prob ...'"),
])
def test_self_contradicting_result_line_is_reported_malformed(line, why):
    parsed = result_lines.parse_line(line)
    assert parsed.image == "a.jpg"
    assert parsed.err_no == result_lines.MALFORMED_LINE == -2
    assert parsed.err_msg.startswith("malformed result line: ") and why in parsed.err_msg
    assert parsed.class_ids == [] and parsed.class_id is None


def test_result_dict_round_trip():
    ok = ImageResult("a.jpg", [1, 2], [0.75, 0.25])
    bad = ImageResult("b.jpg", err_no=3, err_msg="nope")
    assert ok.as_dict() == {"image": "a.jpg", "class_ids": [1, 2], "probs": [0.75, 0.25]}
    assert bad.as_dict()["err_no"] == 3 and bad.as_dict()["err_msg"] == "nope"
    assert ImageResult.from_dict(ok.as_dict()) == ok
    assert ImageResult.from_dict(bad.as_dict()) == bad


# ------------------------------------------------------------------------------------------------ stats
SAMPLES = [
    [5.0],
    [3.0, 1.0],
    [0.5, 9.25, 3.0, 3.0, 7.5, -1.0],
    list(np.random.default_rng(8).exponential(40.0, 101)),
    list(np.random.default_rng(9).normal(50.0, 5.0, 37)),
]


@pytest.mark.parametrize("values", SAMPLES, ids=["one", "two", "six", "exp101", "normal37"])
@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 99.9, 100])
def test_percentile_matches_numpy(values, q):
    assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12, abs=1e-12)


def test_percentile_does_not_reorder_its_input():
    values = [3.0, 1.0, 2.0]
    stats.percentile(values, 50)
    assert values == [3.0, 1.0, 2.0]


@pytest.mark.parametrize("values, q", [([], 50), ([1.0], -1), ([1.0], 100.5)])
def test_percentile_rejects_bad_arguments(values, q):
    with pytest.raises(ValueError):
        stats.percentile(values, q)


def test_summarize_fields():
    values = [0.010, 0.020, 0.030, 0.040, 0.100]
    summary = stats.summarize(values, scale=1000.0)
    assert set(summary) == {"count", "mean", "p50", "p90", "p99", "min", "max"}
    assert summary["count"] == 5
    assert summary["mean"] == pytest.approx(40.0)
    assert summary["p50"] == pytest.approx(30.0)
    assert summary["p90"] == pytest.approx(float(np.percentile([10, 20, 30, 40, 100], 90)))
    assert summary["p99"] == pytest.approx(float(np.percentile([10, 20, 30, 40, 100], 99)))
    assert summary["min"] == pytest.approx(10.0) and summary["max"] == pytest.approx(100.0)
    assert stats.summarize([]) == {"count": 0}
    assert stats.summarize([2.0])["p99"] == 2.0


# --------------------------------------------------------------------------------------- image listing
def test_list_images_of_a_folder_is_sorted_and_filtered(tmp_path):
    for name in ["b.jpg", "a.PNG", "c.jpeg", "notes.txt", "d.bmp", "e.webp", "LICENSE.md"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.jpg").mkdir()
    assert [p.name for p in images.list_images(tmp_path)] == ["a.PNG", "b.jpg", "c.jpeg", "d.bmp", "e.webp"]
    assert [p.name for p in images.list_images(IMAGES)] == [p.name for p in REAL_IMAGES]


def test_list_images_of_a_file_is_that_file_whatever_its_suffix(tmp_path):
    path = tmp_path / "picture.data"
    path.write_bytes(b"x")
    assert images.list_images(path) == [path]


def test_list_images_errors(tmp_path):
    with pytest.raises(UserError, match=r"^no images in .*looked for \.jpg"):
        images.list_images(tmp_path)
    with pytest.raises(UserError, match=r"^image path not found: .*missing\.jpg$"):
        images.list_images(tmp_path / "missing.jpg")
    with pytest.raises(UserError, match=r"^cannot read image .*missing\.jpg: No such file or directory$"):
        images.read_image_bytes(tmp_path / "missing.jpg")
