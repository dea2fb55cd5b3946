// The on-screen keyboard: Qt Virtual Keyboard's panel, Pinyin and English, in the
// kiosk's own style (Styles/kiosk/style.qml, found through the engine's import path).
// It types into whichever widget has focus (the app runs with
// QT_IM_MODULE=qtvirtualkeyboard and its desktop window disabled).
import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

Rectangle {
    id: root
    color: kioskTheme.line
    // The panel's height follows its width: a full 1920 px row would make keys taller
    // than a thumb needs and push the form off the screen.
    property int panelWidth: 1280
    // Keys plus the candidate row, whether or not the row shows yet: the widget's
    // height never changes while the shopper types.
    readonly property int panelHeight: panel.keyboard.height + panel.keyboard.wordCandidateView.height

    // Set from Python when the shopper switches language.
    property string locale: "zh_CN"
    onLocaleChanged: VirtualKeyboardSettings.locale = locale
    // Counted up from Python when a form is wiped: the input methods forget what
    // they learned from the last shopper.
    property int wipes: 0
    onWipesChanged: VirtualKeyboardSettings.userDataReset()

    // The phone number is digits only: the dial pad's "*" and "#" keys stay in their
    // places (the pad keeps its grid, as a phone's does) but show nothing and take no tap.
    function keepDigitsOnly(item) {
        for (let i = 0; i < item.children.length; ++i) {
            const child = item.children[i]
            if (child.key === Qt.Key_Asterisk || child.key === Qt.Key_NumberSign) {
                child.enabled = false
                child.opacity = 0
            } else {
                keepDigitsOnly(child)
            }
        }
    }

    InputPanel {
        id: panel
        objectName: "panel"
        width: Math.min(root.width, root.panelWidth)
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        Component.onCompleted: {
            VirtualKeyboardSettings.styleName = "kiosk"
            // The candidate row keeps its place while nothing is typed: the keys and
            // the form above them never jump when the first candidates appear.
            VirtualKeyboardSettings.wordCandidateList.alwaysVisible = true
            VirtualKeyboardSettings.activeLocales = ["zh_CN", "en_US"]
            VirtualKeyboardSettings.locale = root.locale
        }
    }

    Connections {
        target: panel.keyboard.keyboardLayoutLoader
        function onLoaded() {
            if (panel.keyboard.layoutType === "dialpad")
                root.keepDigitsOnly(panel.keyboard.keyboardLayoutLoader.item)
        }
    }
}
