"""Build: the hot path is compiled by Cython. ``book.pyx`` is Cython; every other module with a
``.pxd`` beside it is a plain ``.py`` that Cython compiles with the C types its ``.pxd`` gives."""
from pathlib import Path

from Cython.Build import cythonize
from setuptools import setup


def hot_modules() -> list[str]:
    sources = []
    for pxd in sorted(Path("scanner").rglob("*.pxd")):
        pyx = pxd.with_suffix(".pyx")
        sources.append(str(pyx if pyx.exists() else pxd.with_suffix(".py")))
    return sources


setup(ext_modules=cythonize(hot_modules(), language_level=3, quiet=True,
                            compiler_directives={"annotation_typing": False}))
