"""Object detection and segmentation (Penn-Fudan pedestrians): box operations, joint image/box/mask
transforms, an anchor-free detector and a segmentation decoder on the pretrained MobileNetV2, COCO metrics.

The recipes (``lucidnet train --dataset pennfudan --model detector|segmenter``) are in
``lucidnet.vision.detection.recipes``.
"""
