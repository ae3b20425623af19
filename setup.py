from setuptools import find_packages, setup

setup(
    name='nexusflow',
    version='0.1.0',
    description='NexusFlow: partially supervised multi-task learning with '
    'invertible flow networks, as MMDetection3D plugins',
    package_dir={'': 'projects/NexusFlow'},
    packages=find_packages(where='projects/NexusFlow'),
    python_requires='>=3.9',
)
