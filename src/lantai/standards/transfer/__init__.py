"""Reading transfer packages: the Chinese transfer layout (《电子档案移交与接收办法》), DA/T 48 EEP
and BagIt, into one `Package` description that the checks work on.

- ``detect.read_package(root, extract_to, *, verify_bag_payload=True) -> Package``: choose the
  reader (bagit.txt → BagIt; XML with the EEP root → EEP; 文件目录.XML / 案卷目录.XML /
  电子档案/ → Chinese layout; one wrapping top folder is looked through); an unknown layout
  gives kind "unknown" and a failed 1-5 result.
- ``cn_layout.read(root)``, ``eep.read(root, extract_to)``,
  ``bagit_reader.read(root, *, verify_payload=True)``.

Readers never modify ``root`` and never raise on bad input: what is wrong is a failed
``CheckResult`` in ``Package.results`` (keys of ``dat70.load_catalogue().checks``), what they
assumed is a line of ``Package.notes``.
"""
