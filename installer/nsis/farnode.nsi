; FarNode Desktop for Windows: a per-user installer (no administrator rights) made with NSIS 3.
;
; Input: the frozen Windows app folder from installer/build_windows.ps1 (FarNode.exe, farnode-cli.exe and
; _internal\). Compile:  makensis /DSTAGE_DIR=<folder> /DVERSION=0.1.0 /DOUTFILE=<FarNode-Setup.exe> farnode.nsi
;
; Installs to %LOCALAPPDATA%\Programs\FarNode with a Start menu entry; "Start FarNode at login" writes the
; same HKCU Run value the app's own setting writes (core/autostart.py), so either can turn it off.
; The uninstaller removes the app, the Run value and the node runtime (the FarNode WSL2 distribution and
; %LOCALAPPDATA%\FarLabs\FarNode\runtime and \wsl), keeps settings and earnings history unless asked, and
; keeps the wallet key in Windows Credential Manager unless "Also delete my wallet key" is ticked, which runs
; `farnode-cli wallet delete --confirm-address <the wallet's address>`.
; Silent install: `FarNode-Setup.exe /S` (add /AUTOSTART to tick "Start FarNode at login"); silent uninstall:
; `"Uninstall FarNode.exe" /S`. tests/installer/test_nsis_wine.py runs both under Wine.

Unicode true
Target amd64-unicode  ; a 64-bit installer: FarNode is 64-bit only (and Wine's wine64 runs it in the tests)
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma

!ifndef STAGE_DIR
  !error "pass /DSTAGE_DIR=<the frozen app folder>"
!endif
!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef OUTFILE
  !define OUTFILE "FarNode-${VERSION}-Setup.exe"
!endif
!ifndef ICON
  !define ICON "${__FILEDIR__}\..\..\resources\icons\farnode.ico"
!endif

!define APP_NAME "FarNode"
!define APP_EXE "FarNode.exe"
!define CLI_EXE "farnode-cli.exe"
!define PUBLISHER "Far Labs"
; platformdirs.user_data_dir("FarNode", "FarLabs") on Windows (core/paths.py)
!define DATA_DIR "$LOCALAPPDATA\FarLabs\FarNode"
!define WSL_DISTRIBUTION "FarNode"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
!define RUN_VALUE "FarNode Desktop"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\FarNode"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "Sections.nsh"

Name "${APP_NAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\FarNode"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
BrandingText "FarNode Desktop ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "FarNode Desktop"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "FileDescription" "FarNode Desktop installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "Far Labs (MIT)"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_SMALLDESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"
!define MUI_FINISHPAGE_RUN_PARAMETERS "app"
!define MUI_FINISHPAGE_RUN_TEXT "Open FarNode now (it sets up the node runtime on first launch)"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

; ----- install -----
Section "FarNode Desktop (required)" SecApp
  SectionIn RO
  Call StopRunningApp
  SetOutPath "$INSTDIR"
  File /r "${STAGE_DIR}\*.*"
  WriteUninstaller "$INSTDIR\Uninstall FarNode.exe"

  CreateDirectory "$SMPROGRAMS\FarNode"
  CreateShortCut "$SMPROGRAMS\FarNode\FarNode.lnk" "$INSTDIR\${APP_EXE}" "app" "$INSTDIR\${APP_EXE}" 0
  CreateShortCut "$SMPROGRAMS\FarNode\Uninstall FarNode.lnk" "$INSTDIR\Uninstall FarNode.exe"

  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "FarNode Desktop"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\Uninstall FarNode.exe"'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

Section /o "Start FarNode at login" SecAutostart
  WriteRegStr HKCU "${RUN_KEY}" "${RUN_VALUE}" '"$INSTDIR\${APP_EXE}" app --minimized'
SectionEnd

Function .onInit
  ; /AUTOSTART ticks "Start FarNode at login" (for silent installs, /S, where no page asks)
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/AUTOSTART" $R1
  ${IfNot} ${Errors}
    !insertmacro SelectSection ${SecAutostart}
  ${EndIf}
FunctionEnd

!insertmacro MUI_FUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${SecApp} "The FarNode app. On first launch it sets up the node runtime (WSL2) with progress."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecAutostart} "Start FarNode in the tray when you log in to Windows (you can change this in FarNode's settings)."
!insertmacro MUI_FUNCTION_DESCRIPTION_END

Function StopRunningApp
  ; An open FarNode holds its files: close it before they are replaced or removed.
  nsExec::Exec 'taskkill /IM "${APP_EXE}" /T'
  Pop $0
  Sleep 1000
  nsExec::Exec 'taskkill /IM "${APP_EXE}" /T /F'
  Pop $0
FunctionEnd

Function un.StopRunningApp
  nsExec::Exec 'taskkill /IM "${APP_EXE}" /T'
  Pop $0
  Sleep 1000
  nsExec::Exec 'taskkill /IM "${APP_EXE}" /T /F'
  Pop $0
FunctionEnd

; ----- uninstall -----
; Runs first (sections run in order): the wallet key is deleted with the app's own command, while it exists.
Section /o "un.Also delete my wallet key" UnSecWallet
  Call un.StopRunningApp
  DetailPrint "Deleting the wallet key from Windows Credential Manager"
  nsExec::ExecToStack '"$INSTDIR\${CLI_EXE}" wallet address'
  Pop $0
  Pop $1
  StrCpy $2 $1 2
  ${If} $0 == 0
  ${AndIf} $2 == "0x"
    StrCpy $1 $1 42
    nsExec::ExecToLog '"$INSTDIR\${CLI_EXE}" wallet delete --confirm-address $1'
    Pop $0
    ${If} $0 != 0
      MessageBox MB_ICONEXCLAMATION|MB_OK "FarNode could not delete the wallet key (exit code $0). It is still in Windows Credential Manager under $\"FarNode Desktop wallet$\"; remove it there if you want it gone."
    ${EndIf}
  ${Else}
    DetailPrint "No wallet key was found: nothing to delete"
  ${EndIf}
SectionEnd

Section /o "un.Also delete my settings and earnings history" UnSecData
  ; config, data, logs and cache all live under this folder on Windows (platformdirs, not roaming)
  RMDir /r "${DATA_DIR}"
  RMDir "$LOCALAPPDATA\FarLabs"
SectionEnd

Section "un.FarNode Desktop and its node runtime" UnSecApp
  SectionIn RO
  Call un.StopRunningApp
  ; The node runtime: the WSL2 distribution (its disk image goes with it) and the folders it lives in.
  nsExec::ExecToLog 'wsl.exe --terminate ${WSL_DISTRIBUTION}'
  Pop $0
  nsExec::ExecToLog 'wsl.exe --unregister ${WSL_DISTRIBUTION}'
  Pop $0
  RMDir /r "${DATA_DIR}\runtime"
  RMDir /r "${DATA_DIR}\wsl"

  DeleteRegValue HKCU "${RUN_KEY}" "${RUN_VALUE}"
  Delete "$SMPROGRAMS\FarNode\FarNode.lnk"
  Delete "$SMPROGRAMS\FarNode\Uninstall FarNode.lnk"
  RMDir "$SMPROGRAMS\FarNode"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\${CLI_EXE}"
  Delete "$INSTDIR\Uninstall FarNode.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
SectionEnd

!insertmacro MUI_UNFUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${UnSecWallet} "Deletes the payout wallet's key from Windows Credential Manager. Without a backup (FarNode: Wallet > Export) the funds in it are lost."
  !insertmacro MUI_DESCRIPTION_TEXT ${UnSecData} "Deletes settings, logs and the earnings history. The wallet key is not touched by this."
  !insertmacro MUI_DESCRIPTION_TEXT ${UnSecApp} "Removes FarNode, its start-at-login entry and the node runtime (the FarNode WSL2 distribution)."
!insertmacro MUI_UNFUNCTION_DESCRIPTION_END
