# Builds FarNode Desktop for Windows: freeze (PyInstaller) -> self-test -> NSIS installer.
# The frozen app must be built on Windows (PyInstaller does not cross-compile). Run from a clone, in
# PowerShell, on Windows 10/11 x64 with Python 3.11 (python.org installer, "py" launcher) and NSIS 3
# (makensis on PATH or in "C:\Program Files (x86)\NSIS"):
#
#     powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1
#
# Output: build\windows\dist\farnode\ (FarNode.exe windowed, farnode-cli.exe console, _internal\),
#         build\windows\selftest.json, build\windows\FarNode-<version>-Setup.exe
param(
    [string]$Python = "py -3.11",
    [string]$OutDir = "build\windows",
    [switch]$SkipSelfTest
)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)
$root = (Get-Location).Path
$version = (Select-String -Path "farnode_desktop\__init__.py" -Pattern '__version__ = "(.*)"').Matches[0].Groups[1].Value
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null

# 1. A clean build venv from the pinned, hash-checked lock (the same lock as Linux; markers pick the
#    Windows wheels: pywin32-ctypes for the keyring's Credential Manager backend, pefile for PyInstaller).
$venv = Join-Path $OutDir "venv"
if (-not (Test-Path "$venv\Scripts\python.exe")) {
    Invoke-Expression "$Python -m venv `"$venv`""
}
& "$venv\Scripts\python.exe" -m pip install --disable-pip-version-check --require-hashes --no-deps -r installer\build-requirements.txt
if ($LASTEXITCODE -ne 0) { throw "pip install of the build lock failed" }
& "$venv\Scripts\python.exe" -m pip install --disable-pip-version-check --no-deps --no-build-isolation .
if ($LASTEXITCODE -ne 0) { throw "installing farnode-desktop into the build venv failed" }

# 2. Freeze (onedir; the spec makes FarNode.exe windowed and farnode-cli.exe for the console).
& "$venv\Scripts\pyinstaller.exe" --noconfirm --clean --distpath "$OutDir\dist" --workpath "$OutDir\work" installer\farnode.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
$bundle = Join-Path $OutDir "dist\farnode"

# 3. Self-test the frozen app: Qt offscreen, Credential Manager round-trip, NVML (a real driver on a GPU
#    machine), the node runtime check. A failure stops the build before any installer is made.
if (-not $SkipSelfTest) {
    $env:QT_QPA_PLATFORM = "offscreen"
    & "$bundle\farnode-cli.exe" --self-test --report "$OutDir\selftest.json"
    $code = $LASTEXITCODE
    Remove-Item Env:\QT_QPA_PLATFORM
    if ($code -ne 0) { throw "the frozen app's self-test failed (see $OutDir\selftest.json)" }
}

# 4. The NSIS installer.
$makensis = (Get-Command makensis -ErrorAction SilentlyContinue).Source
if (-not $makensis) { $makensis = "${env:ProgramFiles(x86)}\NSIS\makensis.exe" }
$setup = Join-Path (Resolve-Path $OutDir) "FarNode-$version-Setup.exe"
& $makensis /V2 /WX "/DSTAGE_DIR=$(Resolve-Path $bundle)" "/DVERSION=$version" "/DOUTFILE=$setup" installer\nsis\farnode.nsi
if ($LASTEXITCODE -ne 0) { throw "makensis failed" }

$bundleMB = [math]::Round(((Get-ChildItem -Recurse $bundle | Measure-Object -Sum Length).Sum) / 1MB, 1)
$setupMB = [math]::Round((Get-Item $setup).Length / 1MB, 1)
Write-Host "bundle: $bundleMB MiB  installer: $setupMB MiB  ($setup)"
# Sign both FarNode.exe/farnode-cli.exe (before step 4) and the installer with the release certificate
# (signtool sign /fd sha256 /tr <timestamp-url> /td sha256 ...): unsigned installers are flagged by SmartScreen.
