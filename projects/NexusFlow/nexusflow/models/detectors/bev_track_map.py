"""Camera BEV model with a tracking head and a map head (UniAD-style)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from mmengine.model import BaseModel
from torch import Tensor

from ..bev_encoder.ego_motion import align_prev_bev
from ..utils.grid_mask import GridMask
from ..utils.task_mask import task_mask_of


def _matrix(value, device: torch.device) -> Tensor:
    return torch.as_tensor(np.asarray(value), dtype=torch.float32,
                           device=device)


def _meta(sample: Det3DDataSample, key: str):
    if key not in sample.metainfo:
        raise KeyError(f"data sample {sample.metainfo.get('token')} has no "
                       f"metainfo '{key}', which the BEV model needs")
    return sample.metainfo[key]


@MODELS.register_module()
class BEVTrackMap(BaseModel):
    """Multi-camera BEV model with tracking and map heads.

    Training (``loss``) runs the clip frame by frame: every frame's BEV
    attends to the previous frame's BEV warped by ego motion, the track head
    carries track queries across the clip, and the map head is supervised
    on the last frame. Each task's loss averages over the samples whose
    ``task_mask`` labels that task.

    Inference (``predict``) expects clips of one frame given in scene
    order and keeps the previous BEV and the tracks between calls. Both
    reset when ``scene_token`` changes.

    Args:
        img_backbone (dict): mmdet backbone config.
        img_neck (dict): mmdet neck config.
        bev_encoder (dict): :class:`BEVEncoder` config.
        track_head (dict): :class:`TrackHead` config.
        map_head (dict): :class:`MapHead` config.
        point_cloud_range (Sequence[float]): BEV range in metres.
        bev_h (int): BEV rows.
        bev_w (int): BEV columns.
        num_levels (int, optional): Neck outputs used, the first ones.
            Defaults to None (all).
        grid_mask (dict, optional): :class:`GridMask` arguments; None turns
            it off. Defaults to None.
        detach_prev_bev (bool): Stop gradients through the previous frame's
            BEV in temporal attention. Defaults to True.
        nexusflow (dict, optional): NexusFlow module config. Defaults to
            None (no alignment loss and no NexusFlow parameters).
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 img_backbone: dict,
                 img_neck: dict,
                 bev_encoder: dict,
                 track_head: dict,
                 map_head: dict,
                 point_cloud_range: Sequence[float],
                 bev_h: int,
                 bev_w: int,
                 num_levels: Optional[int] = None,
                 grid_mask: Optional[dict] = None,
                 detach_prev_bev: bool = True,
                 nexusflow: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        # Built here from mmdet3d's registry, because BaseModel would look
        # the type up in mmengine's root registry.
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.point_cloud_range = list(point_cloud_range)
        self.bev_h = bev_h
        self.bev_w = bev_w
        self.num_levels = num_levels
        self.detach_prev_bev = detach_prev_bev
        self.img_backbone = MODELS.build(img_backbone)
        self.img_neck = MODELS.build(img_neck)
        self.bev_encoder = MODELS.build(bev_encoder)
        self.track_head = MODELS.build(track_head)
        self.map_head = MODELS.build(map_head)
        self.grid_mask = GridMask(**grid_mask) if grid_mask else None
        self.nexusflow = MODELS.build(nexusflow) if nexusflow else None
        self._reset_test_state()

    # ------------------------------------------------------------------
    # Shared pieces
    # ------------------------------------------------------------------
    def _reset_test_state(self, scene_token: Optional[str] = None) -> None:
        self._scene_token = scene_token
        self._prev_bev: Optional[Tensor] = None
        self._prev_pose: Optional[Tensor] = None
        self._prev_timestamp: Optional[float] = None
        self._track_state = None
        self._tracker = self.track_head.build_tracker()

    def extract_feat(self, imgs: Tensor) -> List[Tensor]:
        """Run backbone and neck on every image of the clips.

        Args:
            imgs (Tensor): (B, T, N_cam, 3, H, W) normalized images.

        Returns:
            list[Tensor]: Per level (B, T, N_cam, C, H_l, W_l).
        """
        batch, frames, cams = imgs.shape[:3]
        flat = imgs.flatten(0, 2)
        if self.grid_mask is not None:
            flat = self.grid_mask(flat)
        feats = self.img_neck(self.img_backbone(flat))
        if self.num_levels is not None:
            feats = feats[:self.num_levels]
        return [
            feat.view(batch, frames, cams, *feat.shape[1:]) for feat in feats
        ]

    def _frame_meta(self, frames: List[Det3DDataSample],
                    device: torch.device) -> Tuple[Tensor, Tensor, Tensor]:
        """Return lidar2img (B, N, 4, 4), lidar2global (B, 4, 4) and
        timestamps (B,) in seconds of one frame of each clip."""
        lidar2img, poses, stamps = [], [], []
        for frame in frames:
            lidar2img.append(_matrix(_meta(frame, 'lidar2img'), device))
            ego2global = _matrix(_meta(frame, 'ego2global'), device)
            lidar2ego = _matrix(_meta(frame, 'lidar2ego'), device)
            poses.append(ego2global @ lidar2ego)
            stamps.append(float(_meta(frame, 'timestamp')))
        return (torch.stack(lidar2img), torch.stack(poses),
                torch.tensor(stamps, dtype=torch.float64, device=device))

    def _encode_frame(self, feats: List[Tensor], t: int, lidar2img: Tensor,
                      pad_shape: Tuple[int, int],
                      prev_bev: Optional[Tensor]) -> Tensor:
        frame_feats = [feat[:, t] for feat in feats]
        return self.bev_encoder(frame_feats, lidar2img, pad_shape, prev_bev)

    def _warp(self, bev: Tensor, prev_pose: Tensor,
              curr_pose: Tensor) -> Tensor:
        """Warp a row-major BEV (B, H*W, C) into the current frame."""
        batch, _, channels = bev.shape
        grid = bev.transpose(1, 2).reshape(batch, channels, self.bev_h,
                                           self.bev_w)
        warped = align_prev_bev(grid, prev_pose, curr_pose,
                                self.point_cloud_range)
        return warped.flatten(2).transpose(1, 2)

    def _to_grid(self, bev: Tensor) -> Tensor:
        return bev.transpose(1, 2).reshape(bev.shape[0], -1, self.bev_h,
                                           self.bev_w)

    @staticmethod
    def _pad_shape(frame: Det3DDataSample, imgs: Tensor) -> Tuple[int, int]:
        pad_shape = frame.metainfo.get('pad_shape', imgs.shape[-2:])
        return int(pad_shape[0]), int(pad_shape[1])

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def loss(self, inputs: dict,
             data_samples: List[List[Det3DDataSample]]) -> Dict[str, Tensor]:
        """Compute the track, map and (optional) NexusFlow losses.

        Args:
            inputs (dict): ``img`` (B, T, N_cam, 3, H, W).
            data_samples (list[list[Det3DDataSample]]): B clips of T frames,
                oldest first.

        Returns:
            dict[str, Tensor]: Losses.
        """
        imgs = inputs['img']
        batch, num_frames = imgs.shape[:2]
        if len(data_samples) != batch or any(
                len(clip) != num_frames for clip in data_samples):
            raise ValueError(f'expected {batch} clips of {num_frames} data '
                             'samples to match inputs img of shape '
                             f'{tuple(imgs.shape)}')
        device = imgs.device
        feats = self.extract_feat(imgs)
        pad_shape = self._pad_shape(data_samples[0][0], imgs)

        bevs, poses, stamps = [], [], []
        prev_bev, prev_pose, prev_scenes = None, None, None
        for t in range(num_frames):
            frames = [clip[t] for clip in data_samples]
            lidar2img, pose, stamp = self._frame_meta(frames, device)
            scenes = [f.metainfo.get('scene_token') for f in frames]
            aligned = None
            if prev_bev is not None and scenes == prev_scenes:
                source = prev_bev.detach() if self.detach_prev_bev \
                    else prev_bev
                aligned = self._warp(source, prev_pose, pose)
            bev = self._encode_frame(feats, t, lidar2img, pad_shape, aligned)
            bevs.append(bev)
            poses.append(pose)
            stamps.append(stamp)
            prev_bev, prev_pose, prev_scenes = bev, pose, scenes

        losses = {}
        track_losses, track_latent = self.track_head.loss(
            bevs, data_samples, torch.stack(poses, 1), torch.stack(stamps, 1))
        losses.update(track_losses)

        last_frames = [clip[-1] for clip in data_samples]
        map_weight = torch.tensor(
            task_mask_of(last_frames, 'map'), dtype=torch.float32,
            device=device)
        bev_grid = self._to_grid(bevs[-1])
        map_losses, map_latent = self.map_head.loss(bev_grid, last_frames,
                                                    map_weight)
        losses.update(map_losses)

        if self.nexusflow is not None:
            losses.update(
                self._nexusflow_loss(bev_grid, map_latent, track_latent))
        return losses

    def _nexusflow_loss(self, bev_grid: Tensor, map_latent: Tensor,
                        track_latent: dict) -> Dict[str, Tensor]:
        source = getattr(self.nexusflow, 'feature_source', 'heads')
        if source == 'heads':
            latents = dict(map=map_latent, track=track_latent['embeddings'])
            # True marks padding track-query slots, as NexusFlow expects.
            masks = dict(map=None, track=track_latent['padding_mask'])
        elif source == 'bev':
            latents = dict(map=bev_grid, track=bev_grid)
            masks = dict(map=None, track=None)
        else:
            raise ValueError("nexusflow.feature_source must be 'heads' or "
                             f"'bev', got '{source}'")
        return self.nexusflow.loss(latents, masks)

    # ------------------------------------------------------------------
    # Inference
    # ------------------------------------------------------------------
    def predict(self, inputs: dict,
                data_samples: List[List[Det3DDataSample]]
                ) -> List[Det3DDataSample]:
        """Track and map the current frame of each clip.

        Clips are processed one after another through the temporal state,
        so a batch must list frames in scene order. Earlier frames of a clip
        (T > 1) only advance the state.

        Args:
            inputs (dict): ``img`` (B, T, N_cam, 3, H, W).
            data_samples (list[list[Det3DDataSample]]): B clips of T frames.

        Returns:
            list[Det3DDataSample]: One per clip, for its last frame, with
            ``pred_instances_3d`` (``bboxes_3d``, ``scores_3d``,
            ``labels_3d``, ``track_ids``), ``pred_map_masks`` bool
            (C_map, H, W) and, when the input has it, ``gt_map_masks``.
        """
        imgs = inputs['img']
        feats = self.extract_feat(imgs)
        device = imgs.device
        results = []
        for b, clip in enumerate(data_samples):
            for t, frame in enumerate(clip):
                output = self._predict_frame(
                    [feat[b:b + 1] for feat in feats], t, frame, imgs,
                    device)
            results.append(output)
        return results

    def _predict_frame(self, feats: List[Tensor], t: int,
                       frame: Det3DDataSample, imgs: Tensor,
                       device: torch.device) -> Det3DDataSample:
        scene = frame.metainfo.get('scene_token')
        if scene != self._scene_token or self._track_state is None:
            self._reset_test_state(scene)
            self._track_state = self.track_head.empty_state(device)
        lidar2img, pose, stamp = self._frame_meta([frame], device)
        aligned = None
        state = self._track_state
        if self._prev_bev is not None:
            aligned = self._warp(self._prev_bev, self._prev_pose, pose)
            prev2curr = torch.linalg.solve(pose[0].double(),
                                           self._prev_pose[0].double())
            dt = float(stamp[0]) - self._prev_timestamp
            state = self.track_head.propagate(state, prev2curr.float(), dt)
        bev = self._encode_frame(feats, t, lidar2img,
                                 self._pad_shape(frame, imgs), aligned)
        instances, next_state = self.track_head.predict(
            bev, state, self._tracker)
        masks = self.map_head.predict(self._to_grid(bev), [frame])

        self._prev_bev = bev.detach()
        self._prev_pose = pose
        self._prev_timestamp = float(stamp[0])
        self._track_state = next_state.detach()

        output = Det3DDataSample(metainfo=frame.metainfo)
        output.pred_instances_3d = instances
        output.pred_map_masks = masks[0]
        if 'gt_map_masks' in frame:
            output.gt_map_masks = frame.gt_map_masks
        return output

    def _forward(self, inputs: dict, data_samples=None) -> dict:
        """Return raw BEV features (B, C, H, W) of each clip's last frame
        without temporal context."""
        imgs = inputs['img']
        feats = self.extract_feat(imgs)
        last = [clip[-1] for clip in data_samples]
        lidar2img, _, _ = self._frame_meta(last, imgs.device)
        bev = self._encode_frame(feats, imgs.shape[1] - 1, lidar2img,
                                 self._pad_shape(last[0], imgs), None)
        return dict(bev=self._to_grid(bev))

    def forward(self,
                inputs: dict,
                data_samples: Optional[List[List[Det3DDataSample]]] = None,
                mode: str = 'tensor') -> Union[dict, list]:
        """Dispatch to :meth:`loss`, :meth:`predict` or :meth:`_forward`."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got "
                         f"'{mode}'")
