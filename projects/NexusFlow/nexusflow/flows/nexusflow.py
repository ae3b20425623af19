"""NexusFlow: align every task's latent code through per-task flows."""
import itertools
from typing import Dict, Mapping, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from .surrogate import SURROGATE_TYPES, SurrogateNetwork, SurrogateOutput

DISTANCES = ('mse', 'cosine', 'pairwise')
FEATURE_SOURCES = ('heads', 'bev')


@MODELS.register_module()
class NexusFlow(BaseModule):
    """Per-task surrogate networks and the alignment loss between them.

    Each task owns a :class:`SurrogateNetwork` that reduces its latent
    features to a vector and maps it through an invertible flow to a code
    ``z_i`` (B, D). :meth:`loss` pulls every code toward the centroid of all
    tasks' codes. Alignment never reads labels, so a task without labels in
    the batch is aligned like any other.

    The owning model builds ``latents`` and adds the output of :meth:`loss`
    to its losses. ``align_weight`` is set by ``NexusFlowHook`` before every
    training iteration. The loss is computed and multiplied by it even when
    it is 0, so every parameter here receives a gradient in every step and
    DDP does not need ``find_unused_parameters``.

    Args:
        tasks (Sequence[str]): Task names, at least two.
            Defaults to ``('map', 'track')``.
        in_channels (int | dict[str, int]): Channels of each task's latent
            features, one int for all tasks or one per task.
            Defaults to 256.
        reduced_dim (int): Dimension D of the codes. Must be even.
            Defaults to 64.
        num_couplings (int): Coupling layers per flow. Defaults to 2.
        hidden_dim (int): Hidden width of each coupling MLP.
            Defaults to 128.
        scale_bound (float): Bound on the coupling log-scales, so one
            coupling scales a feature by at most ``exp(scale_bound)``.
            Defaults to 2.0.
        use_actnorm (bool): Whether the flows use ActNorm. Defaults to True.
        permutation (str): ``'alternate'`` or ``'random'``.
            Defaults to ``'alternate'``.
        surrogate_type (str): ``'flow'``, or ``'mlp'`` for the
            non-invertible control of matched size. Defaults to ``'flow'``.
        distance (str): ``'mse'``: mean over tasks of the MSE between
            ``z_i`` and the centroid. ``'cosine'``: the same with
            ``1 - cos(z_i, centroid)``. ``'pairwise'``: mean over task pairs
            of the MSE between their codes. Defaults to ``'mse'``.
        stop_grad_target (bool): Whether the centroid is detached, so each
            code moves toward it but the centroid is not pulled. Has no
            effect with ``distance='pairwise'``, and leaves the gradient of
            ``'mse'`` unchanged because the deviations from the mean sum to
            zero, so it only matters for ``'cosine'``. Defaults to False.
        feature_source (str): What the owning model feeds in. ``'heads'``:
            each task head's latent embedding. ``'bev'``: the shared BEV
            feature for every task, which needs equal ``in_channels``.
            Defaults to ``'heads'``.
        num_pool_queries (int): Learned queries of each reducer.
            Defaults to 4.
        permutation_seed (int): Seed of the random permutations. Task k uses
            ``permutation_seed + k``. Defaults to 0.
        init_cfg (dict, optional): mmengine initialization config.
            Defaults to None.
    """

    def __init__(self,
                 tasks: Sequence[str] = ('map', 'track'),
                 in_channels: Union[int, Mapping[str, int]] = 256,
                 reduced_dim: int = 64,
                 num_couplings: int = 2,
                 hidden_dim: int = 128,
                 scale_bound: float = 2.0,
                 use_actnorm: bool = True,
                 permutation: str = 'alternate',
                 surrogate_type: str = 'flow',
                 distance: str = 'mse',
                 stop_grad_target: bool = False,
                 feature_source: str = 'heads',
                 num_pool_queries: int = 4,
                 permutation_seed: int = 0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        tasks = tuple(tasks)
        if len(tasks) < 2 or len(set(tasks)) != len(tasks):
            raise ValueError(
                f'NexusFlow needs at least two distinct tasks to align, got '
                f'tasks={tasks}.')
        if distance not in DISTANCES:
            raise ValueError(
                f'NexusFlow distance must be one of {DISTANCES}, got '
                f'{distance!r}.')
        if feature_source not in FEATURE_SOURCES:
            raise ValueError(
                f'NexusFlow feature_source must be one of {FEATURE_SOURCES}, '
                f'got {feature_source!r}.')
        if surrogate_type not in SURROGATE_TYPES:
            raise ValueError(
                f'NexusFlow surrogate_type must be one of {SURROGATE_TYPES}, '
                f'got {surrogate_type!r}.')
        channels = self._channels_per_task(tasks, in_channels)
        if feature_source == 'bev' and len(set(channels.values())) != 1:
            raise ValueError(
                f"feature_source='bev' feeds the same BEV feature to every "
                f'task, so in_channels must be equal for all tasks, got '
                f'{channels}.')

        self.tasks = tasks
        self.in_channels = channels
        self.reduced_dim = reduced_dim
        self.distance = distance
        self.stop_grad_target = stop_grad_target
        self.feature_source = feature_source
        self.surrogate_type = surrogate_type
        # Plain float so that NexusFlowHook can set it without touching the
        # state dict. The loss is always multiplied by it.
        self.align_weight = 0.0
        self.surrogates = nn.ModuleDict({
            task: SurrogateNetwork(
                channels[task],
                reduced_dim=reduced_dim,
                num_pool_queries=num_pool_queries,
                surrogate_type=surrogate_type,
                num_couplings=num_couplings,
                hidden_dim=hidden_dim,
                scale_bound=scale_bound,
                use_actnorm=use_actnorm,
                permutation=permutation,
                seed=permutation_seed + k)
            for k, task in enumerate(tasks)
        })

    @staticmethod
    def _channels_per_task(
            tasks: Sequence[str],
            in_channels: Union[int, Mapping[str, int]]) -> Dict[str, int]:
        if isinstance(in_channels, int):
            return {task: in_channels for task in tasks}
        if not isinstance(in_channels, Mapping):
            raise ValueError(
                f'NexusFlow in_channels must be an int or a dict task -> '
                f'int, got {in_channels!r}.')
        missing = [task for task in tasks if task not in in_channels]
        extra = [key for key in in_channels if key not in tasks]
        if missing or extra:
            raise KeyError(
                f'NexusFlow in_channels keys must be the tasks {tasks}; '
                f'missing {missing}, unexpected {extra}.')
        return {task: int(in_channels[task]) for task in tasks}

    def encode(
        self,
        latents: Mapping[str, Tensor],
        masks: Optional[Mapping[str, Optional[Tensor]]] = None
    ) -> Dict[str, SurrogateOutput]:
        """Run every task's surrogate network.

        Args:
            latents (dict[str, Tensor]): Per task its latent features,
                (B, C, H, W), (B, Q, C) or (B, C). Keys other than the tasks
                are ignored.
            masks (dict[str, Tensor | None], optional): Per task a bool
                padding mask (True = padding), (B, Q) for a query set.
                Missing tasks have no padding.

        Returns:
            dict[str, SurrogateOutput]: Per task ``z`` (B, D) and, for the
            flow, ``logdet`` (B,) and ``mean_abs_scale``.
        """
        missing = [task for task in self.tasks if task not in latents]
        if missing:
            raise KeyError(
                f'NexusFlow latents lack tasks {missing}; expected one '
                f'tensor per task in {self.tasks}, got keys '
                f'{sorted(latents)}.')
        masks = masks or {}
        outputs = {
            task: self.surrogates[task](latents[task], masks.get(task))
            for task in self.tasks
        }
        batch_sizes = {task: out.z.shape[0] for task, out in outputs.items()}
        if len(set(batch_sizes.values())) != 1:
            raise ValueError(
                f'NexusFlow latents must share the batch size, got '
                f'{batch_sizes}.')
        return outputs

    def forward(
        self,
        latents: Mapping[str, Tensor],
        masks: Optional[Mapping[str, Optional[Tensor]]] = None
    ) -> Dict[str, Tensor]:
        """Compute each task's code.

        Args:
            latents (dict[str, Tensor]): See :meth:`encode`.
            masks (dict[str, Tensor | None], optional): See :meth:`encode`.

        Returns:
            dict[str, Tensor]: Per task its code ``z`` of shape (B, D).
            Use :meth:`encode` for the log-determinants.
        """
        return {task: out.z for task, out in self.encode(latents, masks).items()}

    def _distance_to(self, z: Tensor, target: Tensor) -> Tensor:
        if self.distance == 'cosine':
            return (1.0 - F.cosine_similarity(z, target, dim=1)).mean()
        return F.mse_loss(z, target)

    def loss(
        self,
        latents: Mapping[str, Tensor],
        masks: Optional[Mapping[str, Optional[Tensor]]] = None
    ) -> Dict[str, Tensor]:
        """Compute the weighted alignment loss and its statistics.

        Args:
            latents (dict[str, Tensor]): See :meth:`encode`.
            masks (dict[str, Tensor | None], optional): See :meth:`encode`.

        Returns:
            dict[str, Tensor]: ``loss_align``, the alignment distance times
            ``align_weight``. Detached statistics whose keys avoid 'loss',
            so mmengine logs them without adding them to the total:
            ``align_dist_<task>``, each task's distance to the centroid
            (MSE for ``distance='pairwise'``), and, for the flow,
            ``flow_scale``, the mean ``|s|`` of all coupling layers.
        """
        outputs = self.encode(latents, masks)
        codes = [outputs[task].z for task in self.tasks]
        centroid = torch.stack(codes).mean(dim=0)
        target = centroid.detach() if self.stop_grad_target else centroid

        dists = {}
        for task, z in zip(self.tasks, codes):
            if self.distance == 'pairwise':
                dists[task] = F.mse_loss(z, centroid)
            else:
                dists[task] = self._distance_to(z, target)

        if self.distance == 'pairwise':
            pair_dists = [
                F.mse_loss(z_a, z_b)
                for z_a, z_b in itertools.combinations(codes, 2)
            ]
            align = torch.stack(pair_dists).mean()
        else:
            align = torch.stack(list(dists.values())).mean()

        results = {'loss_align': align * self.align_weight}
        for task, dist in dists.items():
            results[f'align_dist_{task}'] = dist.detach()
        if self.surrogate_type == 'flow':
            scales = [outputs[task].mean_abs_scale for task in self.tasks]
            results['flow_scale'] = torch.stack(scales).mean().detach()
        return results
