"""Image classifiers, registered in ``lucidnet.models`` (a run directory's ``config.json`` rebuilds them):

* ``SimpleCNN`` (``"cnn"``): two conv stages and two linear layers, the benchmarks' ``cnn`` network;
* ``VGG`` (``"vgg"``): a small VGG-style network with batch norm;
* ``ResNet`` (``"resnet"``): CIFAR-style residual networks, ``resnet8``/``14``/``20``/``32``;
* ``MobileNetV2`` (``"mobilenet_v2"``): torchvision's ImageNet network, ``mobilenet_v2()``;
* ``ImageNetTransfer`` (``"imagenet_transfer"``): an ImageNet network (pretrained) fine-tuned on other images
  (resized, grey repeated into RGB, ImageNet-normalised inside the model).

They take (N, C, H, W) images (C = 1 and 28x28 for (Fashion-)MNIST; 32x32 works too) and return logits.
Parameter names follow PyTorch's (torchvision's for VGG and ResNet), so state dicts line up.

>>> import lucidnet as ln
>>> from lucidnet.vision import models
>>> net = ln.models.build({"name": "resnet", "depth": 8, "width": 8})
>>> type(net) is models.ResNet, net(ln.randn(2, 1, 28, 28)).shape
(True, (2, 10))
"""
from .mobilenet import InvertedResidual, MobileNetV2, mobilenet_v2
from .resnet import BasicBlock, ResNet, resnet8, resnet14, resnet20, resnet32
from .simple_cnn import SimpleCNN
from .transfer import ImageNetTransfer
from .vgg import VGG, VGG_SMALL

__all__ = ["SimpleCNN", "VGG", "VGG_SMALL", "ResNet", "BasicBlock", "resnet8", "resnet14", "resnet20", "resnet32",
           "MobileNetV2", "InvertedResidual", "mobilenet_v2", "ImageNetTransfer"]
