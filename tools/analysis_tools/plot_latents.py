"""Plot each task's latent vectors before (h) and after (z) the NexusFlow flow.

The script runs the model in loss mode, in eval mode and without
gradients, on test samples. It records per task the reducer's output h and
the flow's code z. Both are projected to 2-D with PCA and t-SNE and coloured
by task and by city. The silhouette scores of the task labels in h and in z
are printed and saved in latent_scores.json.
Separate task clusters give a high score; aligned tasks share one region
of z and give a score near 0.

The model must own a NexusFlow module (a config with a NexusFlowHook). The
test data must carry the labels of every task, because the loss needs them.

Example:
    python tools/analysis_tools/plot_latents.py CONFIG CKPT --num-samples 200
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import default_work_dir, load_config, load_model  # noqa: E402

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402
from nexusflow.visualization.latent_plots import (LatentRecorder,  # noqa: E402
                                                  latent_figure)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot per-task latents h and flow codes z and score task separation.')
    parser.add_argument('config', help='config file of a model with a NexusFlow module')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--num-samples', type=int, default=200,
                        help='test samples to collect (fewer if the test set is smaller)')
    parser.add_argument('--out-dir', help='output folder; defaults to '
                        'work_dirs/<config name>/latents')
    parser.add_argument('--no-tsne', action='store_true', help='plot PCA only (faster)')
    parser.add_argument('--device', default=None,
                        help='torch device; defaults to cuda when available, else cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    args = parser.parse_args(argv)
    if args.num_samples < 2:
        parser.error(f'--num-samples must be >= 2, got {args.num_samples}')
    return args


def _cities(data_samples) -> list:
    cities = []
    for sample in data_samples:
        frame = sample[-1] if isinstance(sample, (list, tuple)) else sample
        cities.append(str(frame.metainfo.get('city', 'unknown')))
    return cities


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    out_dir = args.out_dir or osp.join(default_work_dir(args.config), 'latents')
    model = load_model(cfg, args.checkpoint, args.device)
    if getattr(model, 'nexusflow', None) is None:
        raise ValueError(
            f'The model of {args.config} has no NexusFlow module, so it has '
            'no h or z to plot. Use a config with a NexusFlowHook.')
    loader = Runner.build_dataloader(cfg.test_dataloader)

    cities = []
    progress = ProgressBar(min(args.num_samples, len(loader.dataset)))
    with LatentRecorder(model.nexusflow) as recorder, torch.no_grad():
        for data_batch in loader:
            data = model.data_preprocessor(data_batch, False)
            model(**data, mode='loss')
            batch_cities = _cities(data_batch['data_samples'])
            cities.extend(batch_cities)
            progress.update(len(batch_cities))
            if len(cities) >= args.num_samples:
                break
    h, z = recorder.arrays()
    num = min(args.num_samples, len(cities))
    h = {task: value[:num] for task, value in h.items()}
    z = {task: value[:num] for task, value in z.items()}
    city = cities[:num] if len(set(cities)) > 1 else None

    path, scores = latent_figure(h, z, city, out_path=osp.join(out_dir, 'latents.png'),
                                 use_tsne=not args.no_tsne)
    with open(osp.join(out_dir, 'latent_scores.json'), 'w') as f:
        json.dump(dict(num_samples=num, **scores), f, indent=2)
    print_log(f'Saved {path} ({num} samples, tasks {list(h)})', logger='current')
    for key, value in scores.items():
        print(f'{key}: {value:.4f}')
    return path, scores


if __name__ == '__main__':
    main()
