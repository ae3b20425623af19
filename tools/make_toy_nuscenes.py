"""Generate the toy world in the nuScenes on-disk format.

Example::

    python tools/make_toy_nuscenes.py --out-dir data/toy_nuscenes --version v1.0-mini \
        --seed 0 --num-scenes 24 --num-frames 20 --img-scale 0.1
"""
import argparse

import _bootstrap  # noqa: F401  (puts the plugin package on the import path)

from nexusflow.datasets.toy_world import CITIES, generate_toy_nuscenes
from nexusflow.datasets.toy_world.writer import DEFAULT_CALIBRATION


def parse_args():
    parser = argparse.ArgumentParser(
        description='Write a synthetic multi-city world as a nuScenes dataset folder.')
    parser.add_argument('--out-dir', default='data/toy_nuscenes', help='dataroot to write')
    parser.add_argument('--version', default='v1.0-mini', help='table folder, v1.0-<name>')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--num-scenes', type=int, default=24,
                        help='scenes per city; a quarter of them form the validation split')
    parser.add_argument('--num-frames', type=int, default=20,
                        help='keyframes per scene, 0.5 s apart')
    parser.add_argument('--img-scale', type=float, default=0.1,
                        help='camera image size relative to 1600 x 900')
    parser.add_argument('--cities', nargs='+', default=['boston-seaport', 'singapore-onenorth'],
                        choices=CITIES, help='nuScenes map names to use as cities')
    parser.add_argument('--calibration', default=DEFAULT_CALIBRATION,
                        help='mmdet3d v2 info pickle with the real camera and LiDAR calibrations')
    return parser.parse_args()


def main():
    args = parse_args()
    generate_toy_nuscenes(args.out_dir, version=args.version, seed=args.seed,
                          num_scenes=args.num_scenes, num_frames=args.num_frames,
                          img_scale=args.img_scale, cities=args.cities,
                          calibration_file=args.calibration)


if __name__ == '__main__':
    main()
