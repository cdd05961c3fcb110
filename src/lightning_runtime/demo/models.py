"""Small, realistic segmentation models with MMSegmentation's parameter names.

Pure PyTorch (no Lightning): used by tests, benchmarks and the demo configs. Parameter names follow
MMSeg 1.x so that ``paramwise_cfg`` keys and layer-decay rules written for MMSeg hit the same
parameters here:

* :class:`VisionTransformer` (``backbone.patch_embed.projection``, ``backbone.cls_token``,
  ``backbone.pos_embed``, ``backbone.layers.N.{ln1,attn.attn,ln2,ffn.layers}``, ``backbone.ln1``);
* :class:`ConvNeXt` (``backbone.downsample_layers.N``,
  ``backbone.stages.N.M.{depthwise_conv,norm,pointwise_conv1,pointwise_conv2,gamma}``);
* :class:`FCNHead` as ``decode_head`` / ``auxiliary_head`` (``convs.0.conv``, ``convs.0.bn``,
  ``conv_seg``).

Every segmentor's ``forward(x)`` returns per-pixel logits ``(N, num_classes, H, W)`` at the input
resolution.

Example:
    >>> import torch
    >>> model = tiny_vit_segmentor(num_classes=3, img_size=32)
    >>> model(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 3, 32, 32])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "VisionTransformer",
    "ConvNeXt",
    "FCNHead",
    "EncoderDecoder",
    "tiny_vit_segmentor",
    "vit_base_segmentor",
    "tiny_convnext_segmentor",
]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, H, W)`` tensor (a ``nn.LayerNorm``, as in MMSeg)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class PatchEmbed(nn.Module):
    def __init__(self, in_channels: int, dim: int, patch_size: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x)


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


class FFN(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(dim, hidden), nn.GELU()), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class TransformerEncoderLayer(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.ln2 = nn.LayerNorm(dim)
        self.ffn = FFN(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class VisionTransformer(nn.Module):
    """A plain ViT backbone (MMSeg's ``VisionTransformer`` names); returns a ``(N, C, h, w)`` map.

    Args:
        img_size: Input height/width the position embedding is built for.
        patch_size: Patch size of the embedding convolution.
        in_channels: Input channels.
        embed_dims: Token width (768 for ViT-B).
        depth: Number of encoder layers (12 for ViT-B).
        num_heads: Attention heads.
        mlp_ratio: FFN hidden width / ``embed_dims``.
    """

    def __init__(
        self,
        img_size: int = 32,
        patch_size: int = 8,
        in_channels: int = 3,
        embed_dims: int = 32,
        depth: int = 2,
        num_heads: int = 2,
        mlp_ratio: int = 4,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        num_patches = (img_size // patch_size) ** 2
        self.patch_embed = PatchEmbed(in_channels, embed_dims, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 1, embed_dims) * 0.02)
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(embed_dims, num_heads, mlp_ratio) for _ in range(depth)
        )
        self.ln1 = nn.LayerNorm(embed_dims)

    def get_layer_id(self, name: str, num_layers: int) -> int:
        """Layer id for layer-wise lr decay (MMSeg's BEiT/MAE rule, so any class name works).

        ``name`` is the full parameter name (``backbone.layers.3.ln1.weight``): ``0`` for the
        embeddings and tokens, ``i + 1`` for layer ``i``, ``num_layers + 1`` for the rest.
        """
        if name in ("backbone.cls_token", "backbone.mask_token", "backbone.pos_embed"):
            return 0
        if name.startswith("backbone.patch_embed"):
            return 0
        if name.startswith("backbone.layers."):
            return int(name.split(".")[2]) + 1
        return num_layers + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.patch_embed(x)
        n, c, h, w = feat.shape
        tokens = feat.flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(n, -1, -1), tokens], dim=1)
        pos: torch.Tensor = self.pos_embed
        if pos.shape[1] != tokens.shape[1]:  # other input size: resize the patch part
            side = int((pos.shape[1] - 1) ** 0.5)
            grid = pos[:, 1:].reshape(1, side, side, c).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)
            pos = torch.cat([pos[:, :1], grid.flatten(2).transpose(1, 2)], dim=1)
        tokens = tokens + pos
        for layer in self.layers:
            tokens = layer(tokens)
        tokens = self.ln1(tokens)
        return tokens[:, 1:].transpose(1, 2).reshape(n, c, h, w)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.depthwise_conv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pointwise_conv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pointwise_conv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise_conv(x).permute(0, 2, 3, 1)
        y = self.pointwise_conv2(self.act(self.pointwise_conv1(self.norm(y))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """A ConvNeXt backbone with MMSeg's names; returns the last stage's ``(N, C, h, w)`` map.

    Args:
        in_channels: Input channels.
        depths: Blocks per stage (4 stages).
        dims: Channels per stage.
    """

    def __init__(
        self, in_channels: int = 3, depths: Sequence[int] = (1, 1, 3, 1), dims: Sequence[int] = (8, 16, 32, 64)
    ) -> None:
        super().__init__()
        if len(depths) != 4 or len(dims) != 4:
            raise ValueError("ConvNeXt needs 4 depths and 4 dims")
        self.downsample_layers = nn.ModuleList()
        self.downsample_layers.append(nn.Sequential(nn.Conv2d(in_channels, dims[0], 4, stride=4), LayerNorm2d(dims[0])))
        for i in range(1, 4):
            self.downsample_layers.append(
                nn.Sequential(LayerNorm2d(dims[i - 1]), nn.Conv2d(dims[i - 1], dims[i], 2, stride=2))
            )
        self.stages = nn.ModuleList(nn.Sequential(*(ConvNeXtBlock(d) for _ in range(n))) for n, d in zip(depths, dims))
        self.norm3 = LayerNorm2d(dims[3])
        self.out_channels = dims[3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return self.norm3(x)


class ConvModule(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class FCNHead(nn.Module):
    """MMSeg's FCNHead shape: ``convs.0.{conv,bn}`` then the 1x1 classifier ``conv_seg``."""

    def __init__(self, in_channels: int, channels: int, num_classes: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(ConvModule(in_channels, channels))
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_seg(self.convs(x))


class EncoderDecoder(nn.Module):
    """``backbone`` + ``decode_head`` (+ optional ``auxiliary_head``), as MMSeg's segmentor.

    ``forward(x)`` returns the decode head's logits upsampled to the input size;
    ``forward_train(x)`` returns ``(logits, aux_logits)`` (``aux_logits`` is ``None`` without an
    auxiliary head).
    """

    def __init__(self, backbone: nn.Module, decode_head: nn.Module, auxiliary_head: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.decode_head = decode_head
        if auxiliary_head is not None:
            self.auxiliary_head = auxiliary_head

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feat = self.backbone(x)
        size = x.shape[-2:]
        logits = F.interpolate(self.decode_head(feat), size=size, mode="bilinear", align_corners=False)
        aux = getattr(self, "auxiliary_head", None)
        aux_logits = None
        if aux is not None:
            aux_logits = F.interpolate(aux(feat), size=size, mode="bilinear", align_corners=False)
        return logits, aux_logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_train(x)[0]


def tiny_vit_segmentor(
    *,
    depth: int = 2,
    embed_dims: int = 32,
    num_heads: int = 2,
    num_classes: int = 4,
    img_size: int = 32,
    patch_size: int = 8,
    in_channels: int = 3,
    head_channels: int = 16,
    auxiliary_head: bool = True,
) -> EncoderDecoder:
    """A small ViT segmentor (a few thousand parameters by default)."""
    backbone = VisionTransformer(img_size, patch_size, in_channels, embed_dims, depth, num_heads)
    aux = FCNHead(embed_dims, head_channels, num_classes) if auxiliary_head else None
    return EncoderDecoder(backbone, FCNHead(embed_dims, head_channels, num_classes), aux)


def vit_base_segmentor(num_classes: int = 150, img_size: int = 224, auxiliary_head: bool = True) -> EncoderDecoder:
    """A ViT-B/16-sized segmentor: 12 layers, width 768 (about 86M backbone parameters)."""
    return tiny_vit_segmentor(
        depth=12,
        embed_dims=768,
        num_heads=12,
        num_classes=num_classes,
        img_size=img_size,
        patch_size=16,
        head_channels=256,
        auxiliary_head=auxiliary_head,
    )


def tiny_convnext_segmentor(
    *,
    depths: Sequence[int] = (1, 1, 3, 1),
    dims: Sequence[int] = (8, 16, 32, 64),
    num_classes: int = 4,
    in_channels: int = 3,
    head_channels: int = 16,
    auxiliary_head: bool = True,
) -> EncoderDecoder:
    """A small ConvNeXt segmentor (input size must be a multiple of 32)."""
    backbone = ConvNeXt(in_channels, depths, dims)
    aux = FCNHead(dims[3], head_channels, num_classes) if auxiliary_head else None
    return EncoderDecoder(backbone, FCNHead(dims[3], head_channels, num_classes), aux)
