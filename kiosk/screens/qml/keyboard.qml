// The on-screen keyboard: Qt Virtual Keyboard's panel, Pinyin and English.
// It types into whichever widget has focus (the app runs with
// QT_IM_MODULE=qtvirtualkeyboard and its desktop window disabled).
import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

Rectangle {
    id: root
    color: "#2A2D33"
    // The panel's height follows its width: a full 1920 px row would make keys taller
    // than a thumb needs and push the form off the screen.
    property int panelWidth: 1400
    readonly property int panelHeight: panel.height

    // Set from Python when the shopper switches language.
    property string locale: "zh_CN"
    onLocaleChanged: VirtualKeyboardSettings.locale = locale
    // Counted up from Python when a form is wiped: the input methods forget what
    // they learned from the last shopper.
    property int wipes: 0
    onWipesChanged: VirtualKeyboardSettings.userDataReset()

    InputPanel {
        id: panel
        objectName: "panel"
        width: Math.min(root.width, root.panelWidth)
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        Component.onCompleted: {
            VirtualKeyboardSettings.activeLocales = ["zh_CN", "en_US"]
            VirtualKeyboardSettings.locale = root.locale
        }
    }
}
