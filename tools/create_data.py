"""Write the info files that NuScenesPartialDataset reads.

Examples:
    python tools/create_data.py nuscenes --root-path data/nuscenes --version v1.0-trainval
    python tools/create_data.py nuscenes --root-path data/toy_nuscenes --version v1.0-mini \\
        --out-dir data/toy_nuscenes --workers 2
"""
import argparse

import _bootstrap  # noqa: F401  (puts the plugin on the import path)


def parse_args():
    parser = argparse.ArgumentParser(description='Convert a dataset into NexusFlow info files.')
    parser.add_argument('dataset', choices=['nuscenes'], help='dataset to convert')
    parser.add_argument('--root-path', required=True, help='dataset root folder')
    parser.add_argument('--version', default='v1.0-trainval',
                        help='devkit version folder: v1.0-trainval, v1.0-mini or v1.0-test')
    parser.add_argument('--out-dir', default=None,
                        help='folder for the info files; defaults to --root-path')
    parser.add_argument('--extra-tag', default='nexusflow',
                        help='file name prefix: <extra-tag>_infos_<split>.pkl')
    parser.add_argument('--max-sweeps', type=int, default=0,
                        help='previous LiDAR sweeps listed per keyframe')
    parser.add_argument('--map-range', type=float, nargs=4,
                        default=[-51.2, -51.2, 51.2, 51.2],
                        metavar=('X_MIN', 'Y_MIN', 'X_MAX', 'Y_MAX'),
                        help='map patch in the LiDAR frame, metres')
    parser.add_argument('--map-margin', type=float, default=2.0,
                        help='metres added around --map-range')
    parser.add_argument('--workers', type=int, default=1,
                        help='worker processes for the conversion')
    parser.add_argument('--no-cam-instances', action='store_true',
                        help='skip the per-camera 2D boxes (faster)')
    parser.add_argument('--train-split', default=None,
                        help='key of the training scenes in a custom splits.json '
                        '(default: train, else toy_train)')
    parser.add_argument('--val-split', default=None,
                        help='key of the validation scenes in a custom splits.json '
                        '(default: val, else toy_val)')
    return parser.parse_args()


def main():
    args = parse_args()
    from nexusflow.datasets.converters.nuscenes_converter import create_nuscenes_infos
    create_nuscenes_infos(
        root_path=args.root_path,
        version=args.version,
        out_dir=args.out_dir,
        extra_tag=args.extra_tag,
        max_sweeps=args.max_sweeps,
        map_range=args.map_range,
        map_margin=args.map_margin,
        workers=args.workers,
        with_cam_instances=not args.no_cam_instances,
        split_names=dict(train=args.train_split, val=args.val_split))


if __name__ == '__main__':
    main()
