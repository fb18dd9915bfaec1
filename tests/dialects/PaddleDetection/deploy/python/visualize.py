"""Stand-in for PaddleDetection's deploy/python/visualize.py, written for the tests: each box above the threshold
printed as the real draw_box prints it, and drawn."""
from PIL import Image, ImageDraw


def visualize_box_mask(im, results, labels, threshold=0.5):
    if isinstance(im, str):
        im = Image.open(im).convert("RGB")
    if "boxes" in results and len(results["boxes"]) > 0:
        im = draw_box(im, results["boxes"], labels, threshold=threshold)
    return im


def draw_box(im, np_boxes, labels, threshold=0.5):
    draw = ImageDraw.Draw(im)
    np_boxes = np_boxes[(np_boxes[:, 1] > threshold) & (np_boxes[:, 0] > -1), :]
    for dt in np_boxes:
        clsid, bbox, score = int(dt[0]), dt[2:], dt[1]
        xmin, ymin, xmax, ymax = bbox
        print('class_id:{:d}, confidence:{:.4f}, left_top:[{:.2f},{:.2f}],'
              'right_bottom:[{:.2f},{:.2f}]'.format(int(clsid), score, xmin, ymin, xmax, ymax))
        draw.line([(xmin, ymin), (xmin, ymax), (xmax, ymax), (xmax, ymin), (xmin, ymin)], width=2, fill=(255, 0, 0))
    return im
